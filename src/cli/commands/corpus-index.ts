/**
 * `bert-ts index`: keep a corpus embedded in a store — a SQLite file (default) or PostgreSQL +
 * pgvector shared by many workers — and `bert-ts index status` to watch it. Searching the store is
 * `bert-ts search --store`.
 *
 * A plain run ingests the inputs (new and changed documents become pending) and embeds what is
 * pending; `--enqueue-only` only registers, `--worker` only embeds (until nothing is pending, or
 * forever with `--follow`). Re-running is always safe: unchanged documents are not embedded again,
 * and an interrupted run resumes where it stopped.
 */
import type { Command } from "commander";
import { existsSync } from "node:fs";
import { CorpusIndex, type StoreStatus } from "../../pipelines/corpus-index.js";
import type { LongInputMode } from "../../pipelines/sentence-encoder.js";
import type { LayerSelection } from "../../pooling/layers.js";
import type { PoolingStrategy } from "../../pooling/strategies.js";
import { isPostgresUrl, openStore } from "../../stores/open-store.js";
import type { CorpusStore, VectorSpace } from "../../stores/store.js";
import { readDocuments } from "../documents.js";
import { parseLayersFlag, parsePoolingFlag } from "../encoder-flags.js";
import { CliError, parsePositiveInt } from "../io.js";
import { applyThreads, resolveModelForCli, warnIfRandomWeights, DTYPE_HELP, applyDtype } from "../model-arg.js";

interface IndexFlags {
  model?: string;
  input?: string[];
  store?: string;
  field?: string;
  idField?: string;
  inputFormat?: string;
  prune: boolean;
  longInputs?: string;
  chunkStride?: number;
  maxLength?: number;
  pooling?: string;
  normalize?: boolean;
  layers?: string;
  batchSize: number;
  threads?: number;
  dtype?: string;
  enqueueOnly: boolean;
  worker: boolean;
  follow: boolean;
  retryFailed: boolean;
  progress: boolean;
  prompt?: string;
  promptName?: string;
  queryPrompt?: string;
  queryPromptName?: string;
}

const LONG_INPUT_MODES: readonly LongInputMode[] = ["truncate", "chunk", "error"];

export function registerIndex(program: Command): void {
  // Options after `index status` belong to status (both take --store).
  program.enablePositionalOptions();
  const command = program
    .command("index")
    .enablePositionalOptions()
    .description("Embed a corpus into a store (SQLite file or postgres:// URL), re-embedding only what changed")
    // Not requiredOption: commander would demand it of `index status` too.
    .option("-s, --store <location>", "a SQLite file (created if missing) or a postgres:// URL (required)")
    .option("-m, --model <id|dir>", "model folder or Hugging Face id (default: the model the store was built with)")
    .option("-i, --input <file|dir>", "documents: .txt (a line each), .jsonl, .csv, a directory (a file each), - for stdin; repeatable", collect)
    .option("--field <name>", "the text field of .jsonl/.csv records (default: text)")
    .option("--id-field <name>", "the id field of .jsonl/.csv records (default: id; else FILE:LINE)")
    .option("--input-format <format>", "how stdin is read: txt (a document a line) or jsonl", "txt")
    .option("--prune", "remove documents that are no longer in the inputs", false)
    .option("--long-inputs <mode>", "texts over the limit: truncate (flagged; the default), chunk (every window stored with its span) or error (document failed)")
    .option("--chunk-stride <n>", "window overlap in tokens for --long-inputs chunk (default: max length / 4)", parsePositiveInt("--chunk-stride"))
    .option("--max-length <n>", "token limit per text or window (default: the model's)", parsePositiveInt("--max-length"))
    .option("-p, --pooling <strategy>", "pooling (default: the model's own)")
    .option("--normalize", "L2-normalise the vectors (default: the model's own setting)")
    .option("--no-normalize", "do not L2-normalise")
    .option("--layers <which>", "last (default), first-last-avg, lastK-mean, lastK-concat, or indices")
    .option("--prompt-name <name>", "put the model's prompt NAME before every document (default: its document/passage/corpus prompt)")
    .option("--prompt <text>", "put TEXT before every document (\"\" for none)")
    .option("--query-prompt-name <name>", "the prompt `search --store` puts before queries (default: the model's query prompt)")
    .option("--query-prompt <text>", "put TEXT before every query (\"\" for none)")
    .option("-b, --batch-size <n>", "documents per claim and transaction", parsePositiveInt("--batch-size"), 64)
    .option("-t, --threads <n>", "compute threads (native backend)", parsePositiveInt("--threads"))
    .option("--dtype <dtype>", DTYPE_HELP)
    .option("--enqueue-only", "only register the inputs as pending documents (workers embed them)", false)
    .option("--worker", "only embed pending documents, then exit (with --follow: keep waiting for more)", false)
    .option("--follow", "with --worker: keep polling for new pending documents until stopped", false)
    .option("--retry-failed", "put failed documents back to pending first", false)
    .option("--no-progress", "no progress display on stderr")
    .addHelpText(
      "after",
      `
Documents and ids:
  .txt lines get ids FILE:LINE; .jsonl/.csv records use their id field when present; in a directory
  each file is one document whose id is its relative path. A document whose text changed is embedded
  again; with --prune, documents missing from the inputs are removed with their vectors.

Provenance:
  The store records the model (id, revision and commit when from the Hugging Face cache), its
  weights (sha256), pooling, normalisation, length limit, prompts and dtype; indexing or searching
  it with any other is refused. Each vector keeps its token count, truncated
  flag and, in chunk mode, its window index and character span.

Examples:
  $ bert-ts index --model sentence-transformers/all-MiniLM-L6-v2 --input notes/ --store notes.sqlite --long-inputs chunk
  $ bert-ts search --store notes.sqlite --query "quarterly revenue" -k 10
  $ bert-ts index --input corpus.jsonl --store postgres://user@db/corpus --model M --enqueue-only
  $ bert-ts index --store postgres://user@db/corpus --worker          # on each machine
  $ bert-ts index status --store postgres://user@db/corpus`,
    )
    .action(async (flags: IndexFlags) => runIndex(flags));

  command
    .command("status")
    .description("Show a store's progress: documents done, pending and failed, vectors, rate")
    .requiredOption("-s, --store <location>", "a SQLite file or a postgres:// URL")
    .option("-f, --format <format>", "text or jsonl", "text")
    .action(async (flags: { store: string; format: string }) => runStatus(flags));
}

function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), value];
}

async function runIndex(flags: IndexFlags): Promise<void> {
  const location = flags.store;
  if (location === undefined) throw new CliError("--store is required: a SQLite file path or a postgres:// URL");
  if (flags.longInputs !== undefined && !(LONG_INPUT_MODES as readonly string[]).includes(flags.longInputs)) {
    throw new CliError(`Unknown --long-inputs ${JSON.stringify(flags.longInputs)}: expected ${LONG_INPUT_MODES.join(", ")}`);
  }
  if (flags.inputFormat !== "txt" && flags.inputFormat !== "jsonl") throw new CliError(`Unknown --input-format ${JSON.stringify(flags.inputFormat)}: expected txt or jsonl`);
  if (flags.worker && flags.enqueueOnly) throw new CliError("--worker and --enqueue-only exclude each other (a plain run does both)");
  if (flags.follow && !flags.worker) throw new CliError("--follow applies to --worker");
  const inputs = flags.input ?? [];
  if (flags.worker && inputs.length > 0) throw new CliError("--worker embeds what is pending in the store; register inputs with a run without --worker");
  if (!flags.worker && inputs.length === 0) throw new CliError("No input: give --input FILE|DIR (repeatable; - for stdin), or --worker to embed what is pending");
  const pooling = parsePoolingFlag(flags.pooling);
  const layers = parseLayersFlag(flags.layers);
  if (pooling === "none") throw new CliError("--pooling none gives token vectors; a store keeps one vector per document or window");
  applyThreads(flags.threads);
  if (flags.prompt !== undefined && flags.promptName !== undefined) throw new CliError("Give --prompt or --prompt-name, not both");
  if (flags.queryPrompt !== undefined && flags.queryPromptName !== undefined) throw new CliError("Give --query-prompt or --query-prompt-name, not both");
  applyDtype(flags.dtype);

  const { store: openedStore, space: stored } = await storedSpace(location);
  const modelName = flags.model ?? stored?.model;
  if (modelName === undefined) {
    await openedStore?.close();
    throw new CliError(`--model is required: ${location} has no vectors yet, so it names no model`);
  }
  // A run that embeds has its claim connections opened on the server while the model loads.
  if (!flags.enqueueOnly) openedStore?.prepareClaims?.();
  const resolved = await resolveModelForCli(modelName).catch(async (err: unknown) => {
    await openedStore?.close();
    throw err;
  });
  warnIfRandomWeights(resolved.dir);
  const index = await CorpusIndex.open(location, {
    model: modelName,
    store: openedStore,
    resolved,
    // A store's own prompts are the defaults when none is named (a store made before prompts had none).
    prompt: flags.prompt ?? (flags.promptName === undefined && stored ? stored.prompt ?? "" : undefined),
    promptName: flags.promptName,
    queryPrompt: flags.queryPrompt ?? (flags.queryPromptName === undefined && stored ? stored.queryPrompt ?? "" : undefined),
    queryPromptName: flags.queryPromptName,
    pooling: pooling ?? (stored ? (stored.pooling as PoolingStrategy) : undefined),
    normalize: flags.normalize ?? stored?.normalize,
    layers: layers ?? (stored ? (JSON.parse(stored.layers) as LayerSelection) : undefined),
    maxLength: flags.maxLength ?? stored?.maxLength,
    longInputs: (flags.longInputs as LongInputMode | undefined) ?? stored?.longInputs ?? "truncate",
    chunkStride: flags.chunkStride ?? stored?.chunkStride ?? undefined,
  }).catch((err: unknown) => {
    throw new CliError((err as Error).message);
  });

  const controller = new AbortController();
  const stop = () => {
    if (controller.signal.aborted) process.exit(130);
    process.stderr.write("\nbert-ts: stopping after the current batch (again to quit now; nothing is lost either way)\n");
    controller.abort();
  };
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  const started = performance.now();
  try {
    if (flags.retryFailed) {
      const n = await index.store.retryFailed();
      if (n > 0) process.stderr.write(`bert-ts: ${n} failed document${n === 1 ? "" : "s"} back to pending\n`);
    }
    if (!flags.worker) {
      const counts = await index.ingestAll(readDocuments(inputs, { field: flags.field, idField: flags.idField, stdinFormat: flags.inputFormat as "txt" | "jsonl" }), {
        prune: flags.prune,
      });
      process.stderr.write(
        `bert-ts: ${index.store.location}: ${counts.added} new, ${counts.changed} changed, ${counts.unchanged} unchanged${flags.prune ? `, ${counts.removed} removed` : ""}\n`,
      );
    }
    if (flags.enqueueOnly || controller.signal.aborted) return;
    const progress = new ProgressLine(flags.progress && Boolean(process.stderr.isTTY));
    // Counting is a scan of the documents: only for a progress bar someone sees.
    const pendingAtStart = progress.enabled && !flags.follow ? (await index.status()).pending : undefined;
    const result = await index.embedPending({
      batchSize: flags.batchSize,
      follow: flags.follow,
      signal: controller.signal,
      onBatch: (p) => progress.show(p.embedded + p.failed, pendingAtStart, started),
    });
    progress.end();
    const seconds = (performance.now() - started) / 1000;
    const status = await index.status();
    process.stderr.write(
      `bert-ts: embedded ${plural(result.embedded, "document")} in ${seconds.toFixed(1)} s (${(result.embedded / Math.max(seconds, 1e-9)).toFixed(1)}/s)` +
        `${result.failed > 0 ? `, ${result.failed} failed (see bert-ts index status)` : ""}; store: ${status.done} done, ${status.pending} pending, ${status.failed} failed\n`,
    );
    if (result.failed > 0) process.exitCode = 1;
  } finally {
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
    await index.close();
  }
}

/**
 * The space of the store at `location` (its model and pooling become the run's defaults; null when
 * it has none yet) and the store, left open for the run to use: opening it again would check a
 * SQLite file's integrity twice, or connect to PostgreSQL twice. A SQLite file that does not exist
 * yet is created once the model is known.
 */
async function storedSpace(location: string): Promise<{ store?: CorpusStore; space: VectorSpace | null }> {
  if (!isPostgresUrl(location) && !existsSync(location)) return { space: null };
  const store = await openStore(location).catch((err: unknown) => {
    throw new CliError((err as Error).message);
  });
  try {
    return { store, space: await store.space() };
  } catch (err) {
    await store.close();
    throw err;
  }
}

async function runStatus(flags: { store: string; format: string }): Promise<void> {
  const store = await openStore(flags.store).catch((err: unknown) => {
    throw new CliError((err as Error).message);
  });
  let status: StoreStatus;
  try {
    status = await store.status();
  } finally {
    await store.close();
  }
  if (flags.format === "jsonl") {
    process.stdout.write(JSON.stringify({ store: store.location, ...status }) + "\n");
    return;
  }
  const total = Math.max(status.documents, 1);
  const lines = [
    `store      ${store.location}`,
    `model      ${status.space ? `${status.space.model} (weights ${status.space.weightsSha256.slice(0, 12)}…), ${status.space.pooling}${status.space.normalize ? " + normalize" : ""}, ${status.space.dimension} dims` : "none yet"}`,
    `documents  ${status.documents}  ${bar(status.done / total, 30)} ${((100 * status.done) / total).toFixed(1)}% done`,
    `           ${status.done} done, ${status.pending} pending, ${status.failed} failed; ${status.vectors} vectors`,
    `rate       ${status.recentRate === null ? "idle (nothing done in the last minute)" : `${status.recentRate.toFixed(1)} documents/s over the last minute`}`,
  ];
  process.stdout.write(lines.join("\n") + "\n");
}

function bar(fraction: number, width: number): string {
  const filled = Math.round(Math.min(1, Math.max(0, fraction)) * width);
  return "█".repeat(filled) + "░".repeat(width - filled);
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** A one-line progress display on a terminal: count, percent, rate, ETA. */
class ProgressLine {
  private shown = false;
  constructor(readonly enabled: boolean) {}

  show(done: number, total: number | undefined, started: number): void {
    if (!this.enabled) return;
    const seconds = (performance.now() - started) / 1000;
    const rate = done / Math.max(seconds, 1e-9);
    const part =
      total === undefined || total === 0
        ? `${done} embedded`
        : `${bar(done / total, 24)} ${done}/${total} (${((100 * done) / total).toFixed(0)}%), ETA ${Math.max(0, (total - done) / Math.max(rate, 1e-9)).toFixed(0)} s`;
    process.stderr.write(`\r${part}, ${rate.toFixed(1)}/s\x1b[K`);
    this.shown = true;
  }

  end(): void {
    if (this.shown) process.stderr.write("\n");
  }
}
