/**
 * `bert-ts embed`: texts → vectors with the model's own pooling (or the one asked for).
 * JSONL by default when piped: {"text", "text_pair"?, "embedding"} per input, in input order;
 * `--pooling none` gives the token vectors ({"tokens", "embedding": [tokens][hidden]}); `--return-windows`
 * and `--split sentences` add each part's vector and span ({"windows": [...]} / {"sentences": [...]}).
 * Pairs ([a, b] lines in .jsonl, or --pair) are encoded together, as BertModel(**tokenizer(a, b)).
 */
import type { Command } from "commander";
import { extname } from "node:path";
import { parse as parseCsv } from "csv-parse/sync";
import { SentenceEncoder, type DocumentEmbedding, type EmbedInput, type EmbedOptions, type LongInputMode } from "../../pipelines/sentence-encoder.js";
import { parsePartPooling, type PartPooling } from "../../pooling/parts.js";
import { parseLayerSelection } from "../../pooling/layers.js";
import { parsePoolingStrategy, type PoolingStrategy } from "../../pooling/strategies.js";
import { resolveEmbeddingFormat, writeEmbeddings, writeJsonLinesWithVectors } from "../embedding-output.js";
import { warnIfPoolingOverridden } from "../encoder-flags.js";
import { ByteWriter, CliError, INPUT_FORMAT_HELP, OutputSink, parseNonNegativeInt, parsePositiveInt, readInputs, readTextFile, type TextInputRecord } from "../io.js";
import { DEFAULT_EMBEDDING_MODEL, applyThreads, resolveModelForCli, warnIfRandomWeights, DTYPE_HELP, applyDtype } from "../model-arg.js";
import { plural, startProgress } from "../progress.js";
import { runSparseEmbed } from "../sparse-embed.js";

interface EmbedFlags {
  model?: string;
  input?: string;
  inputFormat?: string;
  pair?: string;
  field?: string;
  format?: string;
  output?: string;
  pooling?: string;
  normalize?: boolean;
  dimensions?: number;
  layers?: string;
  batchSize: number;
  maxLength?: number;
  longInputs: string;
  chunkStride?: number;
  /** Alias of chunkStride (--stride). */
  stride?: number;
  windowPooling?: string;
  returnWindows?: boolean;
  split?: string;
  locale?: string;
  threads?: number;
  dtype?: string;
  progress: boolean;
  topK?: number;
  tokens?: boolean;
  prompt?: string;
  promptName?: string;
  provenance?: boolean;
}

export function registerEmbed(program: Command): void {
  program
    .command("embed")
    .description("Turn texts into vectors (sentence embeddings) with the model's pooling")
    .argument("[texts...]", "texts to embed (else --input FILE, else lines on stdin)")
    .option("-m, --model <id|dir>", "model folder or Hugging Face id", DEFAULT_EMBEDDING_MODEL)
    .option("-i, --input <file>", "texts from FILE: .txt (a line each), .jsonl (strings, or objects with --field), .csv (column --field); - for stdin")
    .option("--input-format <format>", INPUT_FORMAT_HELP)
    .option("--field <name>", "the column (.csv) or key (.jsonl objects) holding the text", "text")
    .option("--pair <text>", "second text of a pair, for every input text ([CLS] text [SEP] pair [SEP])")
    .option("-f, --format <format>", "text, jsonl, json, csv or npy (default: from --output's extension; text on a terminal, jsonl when piped)")
    .option("-o, --output <file>", "write to FILE instead of stdout")
    .option("-p, --pooling <strategy>", "pooler, cls, mean, max, mean_sqrt_len, cls_mean, weighted_mean, last, cls_attention, none, or splade (sparse, from a masked-LM checkpoint) (default: the model's own)")
    .option("--normalize", "L2-normalise the vectors (default: the model's own setting)")
    .option("--no-normalize", "do not L2-normalise")
    .option("--dimensions <n>", "keep the first n components (Matryoshka), then normalise if normalising", parsePositiveInt("--dimensions"))
    .option("--layers <which>", "last (default), first-last-avg, lastK-mean, lastK-concat, or indices like -1,-2")
    .option("-b, --batch-size <n>", "texts per forward pass", parsePositiveInt("--batch-size"), 32)
    .option("--max-length <n>", "token limit per text (default: the model's)", parsePositiveInt("--max-length"))
    .option("--long-inputs <mode>", "texts over the limit: truncate (reported), chunk (overlapping windows, see --window-pooling) or error", "truncate")
    .option("--chunk-stride <n>", "tokens consecutive windows share (--long-inputs chunk; default: a quarter of --max-length)", parseNonNegativeInt("--chunk-stride"))
    .option("--stride <n>", "alias of --chunk-stride", parseNonNegativeInt("--stride"))
    .option("--window-pooling <how>", "how a text's windows (or sentences, with --split) combine: mean, weighted (by token count) or max (default: mean)")
    .option("--return-windows", "also output each window's vector and character span")
    .option("--split <unit>", "sentences: embed each sentence alone; output the document vector and each sentence's vector and span")
    .option("--locale <tag>", "locale for --split sentences (default: the system's)")
    .option("-t, --threads <n>", "compute threads (native backend)", parsePositiveInt("--threads"))
    .option("--dtype <dtype>", DTYPE_HELP)
    .option("--no-progress", "no progress bar on stderr")
    .option("--prompt-name <name>", "put the model's prompt NAME (config_sentence_transformers.json prompts) before every text")
    .option("--prompt <text>", "put TEXT before every text (its tokens count toward --max-length)")
    .option("-k, --top-k <n>", "splade: keep each vector's n largest weights (max_active_dims)", parsePositiveInt("--top-k"))
    .option("--tokens", "splade: add the vocabulary token of each index")
    .option("--provenance", "add where each vector came from (model, weights sha256, pooling, tokens, truncation, bert-ts version): a provenance object per jsonl line; for json, the constant part once at the top")
    .action(async (texts: string[], flags: EmbedFlags) => runEmbed(texts, flags));
}

async function readEmbedInputs(texts: string[], flags: EmbedFlags): Promise<TextInputRecord[]> {
  const ext = flags.input ? extname(flags.input).toLowerCase() : "";
  if (flags.input && ext === ".csv") {
    const rows = parseCsv(await readTextFile(flags.input), { columns: true, skip_empty_lines: true }) as Record<string, string>[];
    const field = flags.field ?? "text";
    if (rows.length > 0 && !(field in rows[0])) {
      throw new CliError(`${flags.input}: no column "${field}" (columns: ${Object.keys(rows[0]).join(", ")}); choose one with --field`);
    }
    return rows.map((r) => ({ text: r[field], pair: flags.pair }));
  }
  if (flags.input && ext === ".jsonl" && flags.field !== "text") {
    const lines = (await readTextFile(flags.input)).split(/\r?\n/).filter((l) => l.trim());
    return lines.map((line, i) => {
      const obj = JSON.parse(line) as Record<string, unknown>;
      const v = obj?.[flags.field ?? "text"];
      if (typeof v !== "string") throw new CliError(`${flags.input}:${i + 1}: no string field "${flags.field}"`);
      return { text: v, pair: flags.pair };
    });
  }
  return readInputs({ args: texts, input: flags.input, inputFormat: flags.inputFormat, pair: flags.pair });
}

/** The hierarchical options, checked together so a meaningless combination fails before any work. */
function parseParts(flags: EmbedFlags, longInputs: LongInputMode): { windowPooling?: PartPooling; split: boolean } {
  if (flags.chunkStride !== undefined && longInputs !== "chunk") throw new CliError("--chunk-stride applies to --long-inputs chunk only");
  if (flags.split !== undefined && flags.split !== "sentences") throw new CliError(`Unknown --split ${JSON.stringify(flags.split)}: expected sentences`);
  const split = flags.split === "sentences";
  if (flags.locale !== undefined && !split) throw new CliError("--locale applies to --split sentences only");
  if (split && flags.returnWindows) throw new CliError("--split sentences already outputs each sentence; leave out --return-windows");
  if (flags.windowPooling !== undefined && longInputs !== "chunk" && !split) {
    throw new CliError("--window-pooling applies to --long-inputs chunk or --split sentences");
  }
  try {
    return { windowPooling: flags.windowPooling === undefined ? undefined : parsePartPooling(flags.windowPooling, "--window-pooling"), split };
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

async function runEmbed(texts: string[], flags: EmbedFlags): Promise<void> {
  const format = resolveEmbeddingFormat(flags.format, flags.output);
  const longInputs = flags.longInputs as LongInputMode;
  if (!["truncate", "chunk", "error"].includes(longInputs)) throw new CliError(`Unknown --long-inputs ${JSON.stringify(flags.longInputs)}`);
  if (flags.chunkStride !== undefined && flags.stride !== undefined) throw new CliError("Give --chunk-stride or its alias --stride, not both");
  if (flags.stride !== undefined && longInputs !== "chunk") throw new CliError("--stride sets the overlap of --long-inputs chunk windows; add --long-inputs chunk");
  flags.chunkStride ??= flags.stride;
  if (flags.prompt !== undefined && flags.promptName !== undefined) throw new CliError("Give --prompt or --prompt-name, not both");
  if (flags.pooling === "splade") {
    if (flags.dimensions !== undefined) throw new CliError("--dimensions does not apply to --pooling splade (sparse vectors)");
    if (flags.provenance) throw new CliError("--provenance is not available with --pooling splade yet");
    const records = await readEmbedInputs(texts, flags);
    if (records.some((r) => r.pair !== undefined)) throw new CliError("--pooling splade takes single texts, not sentence pairs");
    return runSparseEmbed(records.map((r) => r.text), flags, format);
  }
  if (flags.topK !== undefined || flags.tokens) throw new CliError("--top-k and --tokens apply to --pooling splade");
  const { windowPooling, split } = parseParts(flags, longInputs);
  const withParts = split || flags.returnWindows === true;
  if (withParts && format !== "jsonl" && format !== "json" && format !== "text") {
    throw new CliError(`${split ? "--split sentences" : "--return-windows"} writes jsonl, json or text, not ${format}`);
  }
  if (withParts && flags.provenance) throw new CliError(`--provenance is not available with ${split ? "--split sentences" : "--return-windows"} yet`);
  let pooling: PoolingStrategy | undefined;
  try {
    pooling = flags.pooling === undefined ? undefined : parsePoolingStrategy(flags.pooling);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  if (pooling === "none" && (withParts || windowPooling !== undefined)) throw new CliError("--pooling none gives token vectors: it has no windows or sentences to pool");
  if (flags.provenance && format !== "jsonl" && format !== "json") throw new CliError(`--provenance is written with --format jsonl or json, not ${format}`);
  applyThreads(flags.threads);
  applyDtype(flags.dtype);
  const records = await readEmbedInputs(texts, flags);
  const inputs: EmbedInput[] = records.map((r) => (r.pair === undefined ? r.text : [r.text, r.pair]));
  const resolved = await resolveModelForCli(flags.model ?? DEFAULT_EMBEDDING_MODEL);
  warnIfRandomWeights(resolved.dir);
  const encoder = await SentenceEncoder.load(resolved.dir, {
    resolved,
    pooling,
    normalize: flags.normalize,
    maxLength: flags.maxLength,
    layers: flags.layers === undefined ? undefined : parseLayerSelection(flags.layers),
  });
  const info = encoder.info;
  const showProgress = flags.progress && Boolean(process.stderr.isTTY) && inputs.length >= 64;
  warnIfPoolingOverridden(encoder);
  // Always, piped or not: which pooling made the vectors, and whose choice it was, belongs in the log.
  process.stderr.write(`bert-ts: pooling ${info.strategy}${info.normalize ? " + L2 normalise" : ""} (${flags.pooling === undefined ? info.source : `--pooling; the model's own is ${info.modelDefault.strategy}`}); ${encoder.model.backend.name}; max ${info.maxLength} tokens\n`);
  if (process.stderr.isTTY) {
    const prompt = encoder.resolvePrompt(flags);
    if (prompt) process.stderr.write(`bert-ts: prompt ${JSON.stringify(prompt)} before every text\n`);
  }
  const progress = await startProgress("embedding", inputs.length, showProgress, "embedded");
  let truncated = 0;
  const options: EmbedOptions = {
    batchSize: flags.batchSize,
    longInputs,
    prompt: flags.prompt,
    promptName: flags.promptName,
    chunkStride: flags.chunkStride,
    windowPooling,
    dimensions: flags.dimensions,
    onTruncate: () => void truncated++,
    onProgress: showProgress ? (done: number) => progress.update(done) : undefined,
  };

  const provenance = flags.provenance ? await encoder.provenance(options) : undefined;
  if (info.strategy === "none") {
    const results = await encoder.tokenEmbeddings(inputs, options);
    if (format !== "jsonl" && format !== "text") throw new CliError(`--pooling none writes jsonl or text, not ${format}`);
    const sink = new OutputSink(flags.output);
    try {
      results.forEach((r, i) =>
        format === "jsonl"
          ? sink.writeJsonLine({ ...textFields(records[i]), tokens: r.tokens, embedding: r.vectors.map((v) => Array.from(v)), ...(provenance ? { provenance } : {}) })
          : sink.write(`${describeRecord(records[i])}\n${r.tokens.map((t, k) => `  ${t}\t${preview(r.vectors[k])}`).join("\n")}\n`),
      );
    } catch (err) {
      await sink.discard();
      throw err;
    }
    await sink.close();
  } else if (withParts) {
    const single = records.map((r) => {
      if (r.pair !== undefined) throw new CliError(`${split ? "--split sentences" : "--return-windows"} takes single texts, not sentence pairs`);
      return r.text;
    });
    const docs = split ? await encoder.embedSentences(single, { ...options, locale: flags.locale, sentencePooling: windowPooling }) : await encoder.embedWithWindows(single, options);
    await writeDocuments(format as "jsonl" | "json" | "text", single, docs, split ? "sentences" : "windows", flags.output);
  } else {
    if (format === "jsonl" || format === "text") {
      // Written as it is made, a few batches at a time: `embed ... | head -1` ends when head has
      // its line (bin/ exits 0 on EPIPE between chunks) instead of embedding everything first.
      const sink = new OutputSink(flags.output);
      const out = new ByteWriter(sink);
      const chunk = flags.batchSize * 4;
      try {
        for (let start = 0; start < inputs.length; start += chunk) {
          const part = await encoder.embedDetailed(inputs.slice(start, start + chunk), {
            ...options,
            onProgress: showProgress ? (done: number) => progress.update(start + done) : undefined,
          });
          const perInput = (r: (typeof part)[number]) => ({ tokens: r.numTokens, truncated: r.truncated, ...(r.windows > 1 ? { windows: r.windows } : {}) });
          // JSONL goes through the byte writer (its chunks reach the sink as they fill), text straight to the sink.
          if (format === "jsonl") {
            writeJsonLinesWithVectors(
              out,
              part.length,
              (k) => textFields(records[start + k]),
              "embedding",
              (k) => part[k].embedding,
              provenance ? (k) => ({ provenance: { ...provenance, ...perInput(part[k]) } }) : undefined,
            );
          } else part.forEach((r, k) => sink.write(`${describeRecord(records[start + k])}\n  [${r.embedding.length}] ${preview(r.embedding)}\n`));
          out.flush();
          // Bounded memory on any output size; the written chunks are reused.
          if (out.backlog > 2) await out.settle();
          // Let a closed stdout's EPIPE surface before the next chunk is computed.
          await new Promise((resolve) => setImmediate(resolve));
        }
      } catch (err) {
        await sink.discard();
        throw err;
      }
      await sink.close();
    } else {
      const results = await encoder.embedDetailed(inputs, options);
      // Per vector: the input part of its provenance (the model part is in `provenance`).
      const perInput = results.map((r) => ({ tokens: r.numTokens, truncated: r.truncated, ...(r.windows > 1 ? { windows: r.windows } : {}) }));
      const rows = results.map((r, i) => ({ ...textFields(records[i]), embedding: r.embedding, ...(provenance ? { provenance: perInput[i] } : {}) }));
      await writeEmbeddings(format, rows, flags.output, provenance);
    }
  }
  progress.finish(inputs.length);
  if (truncated > 0) {
    process.stderr.write(`bert-ts: ${plural(truncated, "text")} ${truncated === 1 ? "was" : "were"} longer than ${info.maxLength} tokens and truncated (use --long-inputs chunk to keep all of them)\n`);
  }
}

/** Each text's vector plus its parts: {"text", "embedding", "windows"|"sentences": [{"span", "num_tokens", "embedding"}]}. */
async function writeDocuments(
  format: "jsonl" | "json" | "text",
  inputs: readonly string[],
  docs: readonly (DocumentEmbedding & { sentences?: string[] })[],
  key: "windows" | "sentences",
  output: string | undefined,
): Promise<void> {
  const records = docs.map((d, i) => ({
    text: inputs[i],
    embedding: Array.from(d.embedding),
    [key]: d.parts.map((p, k) => ({
      ...(d.sentences ? { text: d.sentences[k] } : {}),
      span: p.span,
      num_tokens: p.numTokens,
      embedding: Array.from(p.embedding),
    })),
  }));
  const sink = new OutputSink(output);
  try {
    if (format === "json") sink.write(JSON.stringify(records) + "\n");
    else if (format === "jsonl") records.forEach((r) => sink.writeJsonLine(r));
    else {
      docs.forEach((d, i) => {
        sink.write(`${JSON.stringify(inputs[i])}\n  [${d.embedding.length}] ${preview(d.embedding)}\n`);
        d.parts.forEach((p) => sink.write(`    ${key === "windows" ? "window" : "sentence"} ${p.span[0]}..${p.span[1]} (${p.numTokens} tokens) ${preview(p.embedding)}\n`));
      });
    }
  } finally {
    await sink.close();
  }
}

function textFields(r: TextInputRecord): { text: string; text_pair?: string } {
  return r.pair === undefined ? { text: r.text } : { text: r.text, text_pair: r.pair };
}

function describeRecord(r: TextInputRecord): string {
  return r.pair === undefined ? JSON.stringify(r.text) : `${JSON.stringify(r.text)} + ${JSON.stringify(r.pair)}`;
}

function preview(v: Float32Array): string {
  const head = Array.from(v.subarray(0, 6), (x) => x.toFixed(4)).join(", ");
  return v.length > 6 ? `${head}, …` : head;
}
