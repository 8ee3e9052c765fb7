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
import { applyDtype, applyThreads, resolveModelForCli, warnIfRandomWeights } from "../model-arg.js";
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
    .option("--no-progress", "no progress bar on stderr");
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

Examples:
  $ bert-ts search --corpus faq.txt --query "how do I reset my password" -k 3
  $ bert-ts search --corpus docs.jsonl --field body -q "refund policy" -q "shipping times"
  $ bert-ts search --corpus products.csv --field description --format jsonl < queries.txt`,
    )
    .action(async (queries: string[], flags: SearchFlags, cmd: Command) =>
      runSearch(queries, { ...flags, modelGiven: cmd.getOptionValueSource("model") !== "default" }),
    );
}

async function runSearch(args: string[], flags: SearchFlags): Promise<void> {
  const format = resolveFormat(flags.format, flags.output);
  const { pooling, score } = parseEncoderFlags(flags);
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
  const queryVectors = await encoder.embed(queries, { batchSize: flags.batchSize, onTruncate });
  const hits = semanticSearch(queryVectors, corpusVectors, { topK: flags.topK, scoreFunction: score });

  const sink = new OutputSink(flags.output);
  const width = Math.max(40, (process.stdout.columns ?? 120) - 24);
  try {
    hits.forEach((list, q) => {
      const results = list.map((h) => ({ corpus_id: entries[h.corpusId].id, score: h.score, text: entries[h.corpusId].text }));
      if (format === "jsonl") {
        sink.writeJsonLine({ query: queries[q], results });
        return;
      }
      const rows = [["rank", "score", "id", "text"], ...results.map((r, k) => [String(k + 1), r.score.toFixed(4), String(r.corpus_id), flags.output === undefined ? clip(r.text, width) : r.text])];
      sink.write(`${q > 0 ? "\n" : ""}query: ${JSON.stringify(queries[q])}\n${formatTable(rows, [true, true, true, false])}\n`);
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
  const { dir } = await resolveModelForCli(modelName);
  warnIfRandomWeights(dir);
  const index = await CorpusIndex.open(location, {
    model: modelName,
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
  const sink = new OutputSink(flags.output);
  const width = Math.max(40, (process.stdout.columns ?? 120) - 30);
  try {
    const hits = await index.search(queries, flags.topK, { exact: flags.exact });
    hits.forEach((list, q) => {
      if (format === "jsonl") {
        list.forEach((h, rank) => sink.writeJsonLine({ query: queries[q], rank: rank + 1, id: h.id, score: h.score, text: h.text, window: h.window, start: h.start, end: h.end }));
        return;
      }
      const rows = [["rank", "score", "id", "text"], ...list.map((h, k) => [String(k + 1), h.score.toFixed(4), h.id, clip(space.longInputs === "chunk" ? h.text.slice(h.start, h.end) : h.text, width)])];
      sink.write(`${q > 0 ? "\n" : ""}query: ${JSON.stringify(queries[q])}\n${formatTable(rows, [true, true, false, false])}\n`);
    });
  } finally {
    await sink.close();
    await index.close();
  }
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
  const records = await readInputs({ args: [], input: flags.input }).catch((err: unknown) => {
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
