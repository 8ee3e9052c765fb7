/**
 * `bert-ts search`: rank the texts of a corpus file by similarity to each query. The corpus is
 * embedded once and its vectors cached (see ../search-cache.ts), so later searches only embed the
 * queries. Exact brute-force scoring (semanticSearch), best first.
 */
import type { Command } from "commander";
import { readFile } from "node:fs/promises";
import { extname, resolve } from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import type { SentenceEncoder } from "../../pipelines/sentence-encoder.js";
import { semanticSearch } from "../../pipelines/semantic-search.js";
import { addEncoderOptions, describeEncoder, loadEncoderFromFlags, parseEncoderFlags, type EncoderFlags, parseLayersFlag } from "../encoder-flags.js";
import { clip } from "../heatmap.js";
import { CliError, decodeUtf8, formatTable, OutputSink, parsePositiveInt, readInputs, resolveFormat } from "../io.js";
import { CorpusIndex } from "../../pipelines/corpus-index.js";
import type { LayerSelection } from "../../pooling/layers.js";
import type { PoolingStrategy } from "../../pooling/strategies.js";
import { openStore } from "../../stores/open-store.js";
import { applyDtype, applyThreads, resolveModelArg, resolveModelForCli, warnIfRandomWeights } from "../model-arg.js";
import { pipeline } from "../../pipelines/index.js";
import type { TextRankingPipeline } from "../../pipelines/text-ranking.js";
import type { SearchHit } from "../../stores/store.js";
import { cacheKey, cacheLocations, modelIdentity, newManifest, readCache, sha256, writeCache } from "../search-cache.js";

interface SearchFlags extends EncoderFlags {
  corpus?: string;
  store?: string;
  exact?: boolean;
  queries?: string;
  /** --model was given (not commander's default): a store's own model is used otherwise. */
  modelGiven?: boolean;
  field?: string;
  query?: string[];
  input?: string;
  topK: number;
  format?: string;
  output?: string;
  cache: boolean;
  cacheDir?: string;
  progress: boolean;
  rerank?: string;
  candidates?: number;
  prompt?: string;
  promptName?: string;
}

/** One searchable text and where it sits in the corpus file. */
interface CorpusEntry {
  /** 0-based line of a .txt/.jsonl file, or 0-based data row of a .csv. */
  id: number;
  text: string;
}

export function registerSearch(program: Command): void {
  const command = program
    .command("search")
    .description("Find the corpus texts most similar to each query (semantic search; corpus vectors are cached)")
    .argument("[queries...]", "query texts (also --query; else --input FILE, else lines on stdin)")
    .option("-c, --corpus <file>", "texts to search: .txt (a line each), .jsonl (strings, or objects with --field) or .csv (column --field)")
    .option("-s, --store <location>", "search a store built by `bert-ts index` (SQLite file or postgres:// URL) instead of --corpus")
    .option("--exact", "with --store on PostgreSQL: exact scan instead of the HNSW index")
    .option("--field <name>", "the .csv column or .jsonl key holding the text (default: text)")
    .option("-q, --query <text>", "a query (repeatable)", (value: string, previous: string[] | undefined) => [...(previous ?? []), value])
    .option("-i, --input <file>", "queries from FILE: .jsonl (a string a line) or one query a line; - for stdin")
    .option("--queries <file>", "the same as --input")
    .option("-k, --top-k <n>", "results per query", parsePositiveInt("--top-k"), 5)
    .option("-f, --format <format>", "text (ranked list; default on a terminal) or jsonl (default otherwise)")
    .option("-o, --output <file>", "write to FILE instead of stdout")
    .option("--no-cache", "embed the corpus afresh and do not save its vectors")
    .option("--cache-dir <dir>", "keep corpus vectors in DIR (default: FILE.bert-ts-cache beside the corpus)")
    .option("--no-progress", "no progress bar on stderr")
    .option("--rerank <id|dir>", "rescore the vector search's best --candidates hits with this cross-encoder, best first")
    .option("--candidates <n>", "with --rerank: hits the cross-encoder rescores per query (default: 4 × --top-k, at least 20)", parsePositiveInt("--candidates"))
    .option("--prompt-name <name>", "put the model's prompt NAME before every query (with --store: default, the prompt the store records for queries)")
    .option("--prompt <text>", "put TEXT before every query (\"\" for none)");
  addEncoderOptions(command)
    .addHelpText(
      "after",
      `
Corpus:
  Blank lines (and empty fields) are skipped; corpus_id is the 0-based line of a .txt/.jsonl file,
  or the 0-based data row of a .csv (header not counted), so results point back into the file.
  Texts longer than the model's limit are truncated (counted on stderr).

Cache:
  The corpus vectors go to FILE.bert-ts-cache/<key>.bin with a <key>.json manifest (or, when that
  folder cannot be written, ~/.cache/bert-ts/search/). The key covers the model files, the pooling
  options and the corpus bytes: editing the corpus or changing the model or pooling re-embeds it,
  anything else is a cache hit (reported on stderr). Delete the folder to reclaim the space.

Output:
  text   per query, a ranked list: rank, score, corpus_id, text
  jsonl  one object per query: {"query", "results": [{"corpus_id", "score", "text"}]}, best first
  --store jsonl: one line per hit, best first: query, rank, id, score (cosine), text, window, start, end
  --rerank adds rerank_score (the cross-encoder's activated score) and orders by it; score stays the cosine.

Examples:
  $ bert-ts search --corpus faq.txt --query "how do I reset my password" -k 3
  $ bert-ts search --corpus docs.jsonl --field body -q "refund policy" -q "shipping times"
  $ bert-ts search --corpus products.csv --field description --format jsonl < queries.txt
  $ bert-ts search --store notes.sqlite -q "refund policy" -k 5 --rerank cross-encoder/ms-marco-MiniLM-L-6-v2`,
    )
    .action(async (queries: string[], flags: SearchFlags, cmd: Command) =>
      runSearch(queries, { ...flags, modelGiven: cmd.getOptionValueSource("model") !== "default" }),
    );
}

async function runSearch(args: string[], flags: SearchFlags): Promise<void> {
  const format = resolveFormat(flags.format, flags.output);
  const { pooling, score } = parseEncoderFlags(flags);
  if (flags.prompt !== undefined && flags.promptName !== undefined) throw new CliError("Give --prompt or --prompt-name, not both");
  if (flags.candidates !== undefined && flags.rerank === undefined) throw new CliError("--candidates applies to --rerank");
  if (flags.store !== undefined) {
    if (flags.corpus !== undefined) throw new CliError("Give --corpus FILE or --store LOCATION, not both");
    return runStoreSearch(await readQueries(args, flags), flags, format, pooling);
  }
  if (flags.corpus === undefined) throw new CliError("--corpus FILE (or --store LOCATION) is required");
  const corpusPath = resolve(flags.corpus);
  const { entries, bytes, kind } = await readCorpus(corpusPath, flags.corpus, flags.field);
  if (entries.length === 0) throw new CliError(`${flags.corpus}: the corpus holds no texts`);
  const queries = await readQueries(args, flags);

  const encoder = await loadEncoderFromFlags(flags, pooling);
  if (process.stderr.isTTY) process.stderr.write(`bert-ts: ${describeEncoder(encoder)}\n`);
  let truncated = 0;
  const onTruncate = () => void truncated++;
  const corpusVectors = await corpusEmbeddings(encoder, entries, { path: corpusPath, sha: sha256(bytes), kind, field: kind === "txt" ? null : flags.field ?? "text" }, flags, onTruncate);
  const queryVectors = await encoder.embed(queries, { batchSize: flags.batchSize, onTruncate, prompt: flags.prompt, promptName: flags.promptName });
  const ranker = flags.rerank === undefined ? undefined : await loadReranker(flags);
  const found = semanticSearch(queryVectors, corpusVectors, { topK: ranker ? candidateCount(flags) : flags.topK, scoreFunction: score });
  const hits = ranker
    ? await Promise.all(found.map((list, q) => rerankHits(ranker, queries[q], list.map((h) => ({ ...h, text: entries[h.corpusId].text })), flags.topK)))
    : found.map((list) => list.map((h) => ({ ...h, rerankScore: undefined as number | undefined })));

  const sink = new OutputSink(flags.output);
  const width = Math.max(40, (process.stdout.columns ?? 120) - 24);
  try {
    hits.forEach((list, q) => {
      const results = list.map((h) => ({
        corpus_id: entries[h.corpusId].id,
        score: h.score,
        ...(h.rerankScore !== undefined ? { rerank_score: h.rerankScore } : {}),
        text: entries[h.corpusId].text,
      }));
      if (format === "jsonl") {
        sink.writeJsonLine({ query: queries[q], results });
        return;
      }
      const head = ranker ? ["rank", "rerank", "score", "id", "text"] : ["rank", "score", "id", "text"];
      const rows = [
        head,
        ...results.map((r, k) => [
          String(k + 1),
          ...(ranker ? [(r.rerank_score ?? 0).toFixed(4)] : []),
          r.score.toFixed(4),
          String(r.corpus_id),
          flags.output === undefined ? clip(r.text, width) : r.text,
        ]),
      ];
      sink.write(`${q > 0 ? "\n" : ""}query: ${JSON.stringify(queries[q])}\n${formatTable(rows, [true, ...(ranker ? [true] : []), true, true, false])}\n`);
    });
  } catch (err) {
    await sink.discard();
    throw err;
  }
  await sink.close();
  if (truncated > 0) {
    process.stderr.write(`bert-ts: ${truncated} text(s) were longer than ${encoder.maxLength} tokens and were truncated to fit\n`);
  }
}

/**
 * Search a store made by `bert-ts index`: the queries are embedded exactly as the store's vectors
 * were (its model and pooling are the defaults; anything else is refused by the store). JSONL gets
 * one line per hit, best first: query, rank, id, score (cosine), text, and window/start/end.
 */
async function runStoreSearch(queries: string[], flags: SearchFlags, format: "text" | "jsonl", pooling: PoolingStrategy | undefined): Promise<void> {
  const location = flags.store!;
  if (flags.score !== "cosine") throw new CliError("--store search scores by cosine; --score applies to --corpus");
  const store = await openStore(location).catch((err: unknown) => {
    throw new CliError((err as Error).message);
  });
  const space = await store.space().finally(() => store.close());
  if (!space) throw new CliError(`${location} holds no vectors yet; fill it with \`bert-ts index --store ${location} ...\``);
  const modelName = flags.modelGiven && flags.model !== undefined ? flags.model : space.model;
  applyThreads(flags.threads);
  // Query vectors must be made the way the stored ones were: the store's dtype unless --dtype says.
  applyDtype(flags.dtype ?? space.dtype);
  const layers = parseLayersFlag(flags.layers);
  const resolved = await resolveModelForCli(modelName);
  warnIfRandomWeights(resolved.dir);
  const index = await CorpusIndex.open(location, {
    model: modelName,
    resolved,
    // The documents' prompt is the store's; the queries' is the store's unless one is named (then it must match).
    prompt: space.prompt ?? "",
    queryPrompt: flags.prompt ?? (flags.promptName === undefined ? space.queryPrompt ?? "" : undefined),
    queryPromptName: flags.promptName,
    pooling: pooling ?? (space.pooling as PoolingStrategy),
    normalize: flags.normalize ?? space.normalize,
    layers: layers ?? (JSON.parse(space.layers) as LayerSelection),
    maxLength: flags.maxLength ?? space.maxLength,
    longInputs: space.longInputs,
    chunkStride: space.chunkStride ?? undefined,
    searchOnly: true,
  }).catch((err: unknown) => {
    throw new CliError((err as Error).message);
  });
  let ranker: TextRankingPipeline | undefined;
  try {
    ranker = flags.rerank === undefined ? undefined : await loadReranker(flags);
  } catch (err) {
    await index.close();
    throw err;
  }
  // What a hit is about: its window's text in chunk mode, else the document.
  const passage = (h: SearchHit) => (space.longInputs === "chunk" ? h.text.slice(h.start, h.end) : h.text);
  const sink = new OutputSink(flags.output);
  const width = Math.max(40, (process.stdout.columns ?? 120) - 30);
  try {
    const found = await index.search(queries, ranker ? candidateCount(flags) : flags.topK, { exact: flags.exact });
    const hits = ranker
      ? await Promise.all(found.map((list, q) => rerankHits(ranker, queries[q], list.map((h) => ({ ...h, passage: passage(h) })), flags.topK)))
      : found.map((list) => list.map((h) => ({ ...h, rerankScore: undefined as number | undefined })));
    hits.forEach((list, q) => {
      if (format === "jsonl") {
        list.forEach((h, rank) =>
          sink.writeJsonLine({
            query: queries[q],
            rank: rank + 1,
            id: h.id,
            score: h.score,
            ...(h.rerankScore !== undefined ? { rerank_score: h.rerankScore } : {}),
            text: h.text,
            window: h.window,
            start: h.start,
            end: h.end,
          }),
        );
        return;
      }
      const head = ranker ? ["rank", "rerank", "score", "id", "text"] : ["rank", "score", "id", "text"];
      const rows = [head, ...list.map((h, k) => [String(k + 1), ...(ranker ? [(h.rerankScore ?? 0).toFixed(4)] : []), h.score.toFixed(4), h.id, clip(passage(h), width)])];
      sink.write(`${q > 0 ? "\n" : ""}query: ${JSON.stringify(queries[q])}\n${formatTable(rows, [true, ...(ranker ? [true] : []), true, false, false])}\n`);
    });
  } finally {
    await sink.close();
    await index.close();
  }
}

/** The cross-encoder --rerank names (the text-ranking pipeline: sigmoid for one label unless its config says otherwise). */
async function loadReranker(flags: SearchFlags): Promise<TextRankingPipeline> {
  const dir = await resolveModelArg(flags.rerank);
  warnIfRandomWeights(dir);
  return pipeline("text-ranking", dir, { batchSize: flags.batchSize });
}

/** How many vector hits the cross-encoder rescores per query. */
function candidateCount(flags: SearchFlags): number {
  return flags.candidates ?? Math.max(4 * flags.topK, 20);
}

/**
 * The cross-encoder's order of one query's vector hits (its score on [query, passage], the
 * hit's `passage` when given, else its text), best first, the best k; ties keep the vector order.
 */
async function rerankHits<H extends { text: string; passage?: string }>(ranker: TextRankingPipeline, query: string, hits: H[], k: number): Promise<(H & { rerankScore: number })[]> {
  if (hits.length === 0) return [];
  const ranked = await ranker(query, hits.map((h) => h.passage ?? h.text));
  return ranked.slice(0, k).map((r) => ({ ...hits[r.index], rerankScore: r.score }));
}

async function readQueries(args: string[], flags: SearchFlags): Promise<string[]> {
  if (flags.queries !== undefined) {
    if (flags.input !== undefined) throw new CliError("--queries and --input are the same option; give one");
    flags = { ...flags, input: flags.queries };
  }
  const given = [...args, ...(flags.query ?? [])];
  if (given.length > 0) {
    if (flags.input !== undefined) throw new CliError("Give queries either as arguments/--query or with --input, not both");
    return given;
  }
  const records = await readInputs({ args: [], input: flags.input, allowEmpty: true }).catch((err: unknown) => {
    if (err instanceof CliError && err.message.startsWith("No input")) {
      throw new CliError('No query: give --query "TEXT" (repeatable), query arguments, --input FILE, or pipe queries on stdin');
    }
    throw err;
  });
  if (records.length === 0) throw new CliError("No query: the query input was empty");
  return records.map((r) => {
    if (r.pair !== undefined) throw new CliError("search queries are single texts, not pairs");
    return r.text;
  });
}

type CorpusKind = "txt" | "jsonl" | "csv";

/** The corpus file's texts with their line/row ids, and its bytes (for the cache key). */
async function readCorpus(path: string, shown: string, field: string | undefined): Promise<{ entries: CorpusEntry[]; bytes: Buffer; kind: CorpusKind }> {
  if (shown === "-") throw new CliError("--corpus must be a file (its vectors are cached beside it); pipe queries on stdin instead");
  let bytes: Buffer;
  try {
    bytes = await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new CliError(code === "ENOENT" ? `Corpus file not found: ${shown}` : `Cannot read corpus ${shown}: ${code ?? (err as Error).message}`);
  }
  const text = decodeUtf8(bytes, shown);
  const ext = extname(path).toLowerCase();
  const entries: CorpusEntry[] = [];
  if (ext === ".csv") {
    const column = field ?? "text";
    let rows: Record<string, string>[];
    try {
      rows = parseCsv(text, { columns: true, skip_empty_lines: true, relax_column_count: true }) as Record<string, string>[];
    } catch (err) {
      throw new CliError(`${shown}: not valid CSV (${(err as Error).message})`);
    }
    if (rows.length > 0 && !(column in rows[0])) {
      throw new CliError(`${shown}: no column "${column}" (columns: ${Object.keys(rows[0]).join(", ")}); choose one with --field`);
    }
    rows.forEach((row, id) => {
      const value = row[column];
      if (typeof value === "string" && value.trim().length > 0) entries.push({ id, text: value });
    });
    return { entries, bytes, kind: "csv" };
  }
  const lines = text.split(/\r?\n/);
  if (ext === ".jsonl") {
    const key = field ?? "text";
    lines.forEach((line, id) => {
      if (line.trim().length === 0) return;
      let value: unknown;
      try {
        value = JSON.parse(line);
      } catch (err) {
        throw new CliError(`${shown}:${id + 1}: not valid JSON (${(err as Error).message})`);
      }
      const t = typeof value === "string" ? value : typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>)[key] : undefined;
      if (typeof t !== "string") throw new CliError(`${shown}:${id + 1}: expected a string or an object with a string "${key}" (choose the key with --field)`);
      if (t.trim().length > 0) entries.push({ id, text: t });
    });
    return { entries, bytes, kind: "jsonl" };
  }
  if (field !== undefined) throw new CliError(`--field applies to .csv and .jsonl corpora; ${shown} is read as one text a line`);
  lines.forEach((line, id) => {
    if (line.trim().length > 0) entries.push({ id, text: line });
  });
  return { entries, bytes, kind: "txt" };
}

/** The corpus vectors: from the cache when the key matches, else embedded (and cached). */
async function corpusEmbeddings(
  encoder: SentenceEncoder,
  entries: readonly CorpusEntry[],
  corpus: { path: string; sha: string; kind: CorpusKind; field: string | null },
  flags: SearchFlags,
  onTruncate: () => void,
): Promise<Float32Array[]> {
  const started = performance.now();
  const seconds = () => ((performance.now() - started) / 1000).toFixed(2);
  const info = encoder.info;
  const poolingId = { strategy: info.strategy, normalize: info.normalize, maxLength: info.maxLength, layers: encoder.layers, longInputs: "truncate" };
  const locations = cacheLocations(corpus.path, flags.cacheDir);
  let key = "";
  const provenance = await encoder.provenance();
  if (flags.cache) {
    key = cacheKey({ model: await modelIdentity(encoder.modelDir), pooling: poolingId, corpus: { sha256: corpus.sha, field: corpus.field, format: corpus.kind } });
    const hit = await readCache(locations, key, entries.length, provenance, (path, why) =>
      process.stderr.write(`bert-ts: cache entry ${path} holds vectors of another provenance (${why}): not mixing them, embedding again\n`),
    );
    if (hit) {
      process.stderr.write(`bert-ts: cache hit: ${entries.length} corpus vectors read from ${hit.path} in ${seconds()} s\n`);
      return hit.vectors;
    }
  }
  const showProgress = flags.progress && Boolean(process.stderr.isTTY) && entries.length >= 64;
  const vectors = await encoder.embed(
    entries.map((e) => e.text),
    {
      batchSize: flags.batchSize,
      onTruncate,
      onProgress: showProgress ? (done, total) => process.stderr.write(`\rembedding corpus ${done}/${total}\x1b[K`) : undefined,
    },
  );
  if (showProgress) process.stderr.write("\n");
  const embedded = `embedded ${entries.length} corpus texts in ${seconds()} s`;
  if (!flags.cache) {
    process.stderr.write(`bert-ts: ${embedded} (cache off)\n`);
    return vectors;
  }
  const manifest = newManifest(key, { path: corpus.path, sha256: corpus.sha, field: corpus.field, format: corpus.kind, entries: entries.length }, encoder.modelDir, poolingId, info.dimension, provenance);
  const saved = await writeCache(locations, manifest, vectors);
  if ("path" in saved) {
    process.stderr.write(`bert-ts: cache miss: ${embedded}; saved to ${saved.path}\n`);
  } else {
    process.stderr.write(`bert-ts: cache miss: ${embedded}; could not save them (${saved.errors.join("; ")}); use --cache-dir DIR\n`);
  }
  return vectors;
}
