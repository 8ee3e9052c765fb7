/**
 * `bert-ts serve`: an HTTP server compatible with text-embeddings-inference and OpenAI's embeddings
 * API (see src/server). Loopback only unless --host says otherwise. SIGTERM/SIGINT drain in-flight
 * requests, then exit 0; a second signal exits at once.
 */
import type { Command } from "commander";
import { parsePoolingStrategy, type PoolingStrategy } from "../../pooling/strategies.js";
import { DEFAULT_SERVER_OPTIONS, poolSize, threadsFromEnv } from "../../server/options.js";
import { CliError, parsePositiveInt } from "../io.js";
import { applyThreads, resolveModelArg, warnIfRandomWeights, DTYPE_HELP, applyDtype } from "../model-arg.js";

interface ServeFlags {
  model?: string;
  classifier?: string;
  pooling?: string;
  host: string;
  port: number;
  apiKey?: string;
  maxBatchTokens: number;
  maxClientBatchSize: number;
  maxQueue: number;
  maxQueueTokens: number;
  maxQueueWait: number;
  requestTimeout: number;
  autoTruncate: boolean;
  workers?: number;
  threads?: number;
  dtype?: string;
  log: boolean;
}

function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CliError(`Expected a port number (0-65535) for --port but received ${JSON.stringify(value)}`);
  return n;
}

export function registerServe(program: Command): void {
  const d = DEFAULT_SERVER_OPTIONS;
  program
    .command("serve")
    .description("Serve embeddings over HTTP (text-embeddings-inference and OpenAI compatible)")
    .option("-m, --model <id|dir>", "embedding model folder or Hugging Face id (/embed, /embed_all, /v1/embeddings)")
    .option("--classifier <id|dir>", "sequence-classification model for /predict (a one-output cross-encoder also serves /rerank)")
    .option("--pooling <strategy>", "the embedding model's pooling, e.g. cls_attention (default: its own; see `embed --help`); splade serves a masked-LM checkpoint's sparse vectors on /embed_sparse")
    .option("--host <address>", "address to listen on (0.0.0.0 to accept remote clients)", d.host)
    .option("-p, --port <n>", "port (0 = any free port)", parsePort, d.port)
    .option("--api-key <key>", "require `Authorization: Bearer <key>` (default: env BERT_TS_API_KEY)")
    .option("--max-batch-tokens <n>", "most tokens per forward pass", parsePositiveInt("--max-batch-tokens"), d.maxBatchTokens)
    .option("--max-client-batch-size <n>", "most inputs per request", parsePositiveInt("--max-client-batch-size"), d.maxClientBatchSize)
    .option("--max-queue <n>", "most requests queued or running; more get 429", parsePositiveInt("--max-queue"), d.maxQueue)
    .option("--max-queue-tokens <n>", "most tokens waiting for a forward pass; more get 429", parsePositiveInt("--max-queue-tokens"), d.maxQueueTokens)
    .option("--max-queue-wait <seconds>", "a request that would wait longer (estimated from measured throughput) gets 503", parsePositiveInt("--max-queue-wait"), d.maxQueueWait)
    .option("--request-timeout <seconds>", "time a client has to send a whole request; slower ones get 408", parsePositiveInt("--request-timeout"), d.requestTimeout)
    .option("--auto-truncate", "truncate over-long inputs when a request does not say (default: 413 error)", false)
    .option("-w, --workers <n>", "inference worker threads, each with its own copy of the model (default: cores ÷ threads per worker)", parsePositiveInt("--workers"))
    .option("-t, --threads <n>", "compute threads per worker (native backend; default: env BERT_TS_THREADS, else cores ÷ workers)", parsePositiveInt("--threads"))
    .option("--dtype <dtype>", DTYPE_HELP)
    .option("--log", "log every request to stderr", false)
    .action(async (flags: ServeFlags) => runServe(flags));
}

async function runServe(flags: ServeFlags): Promise<void> {
  if (!flags.model && !flags.classifier) throw new CliError("serve needs --model (embeddings) and/or --classifier (/predict)");
  const sparse = flags.pooling === "splade";
  let pooling: PoolingStrategy | undefined;
  try {
    pooling = flags.pooling === undefined || sparse ? undefined : parsePoolingStrategy(flags.pooling);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
  if (pooling === "none") throw new CliError("--pooling none gives token vectors, which /embed_all serves with any pooling; choose another strategy");
  if (flags.pooling !== undefined && !flags.model) throw new CliError("--pooling applies to the embedding model (--model)");
  applyThreads(flags.threads);
  applyDtype(flags.dtype);
  const pool = poolSize(flags.workers, flags.threads ?? threadsFromEnv());
  const model = flags.model === undefined ? undefined : await resolveModelArg(flags.model);
  const classifier = flags.classifier === undefined ? undefined : await resolveModelArg(flags.classifier);
  for (const dir of [model, classifier]) if (dir) warnIfRandomWeights(dir);
  const started = performance.now();
  // The server (fastify, prom-client) is loaded only for `serve`: every other command starts faster.
  const { startServer } = await import("../../server/app.js");
  const server = await startServer({
    model,
    sparse,
    classifier,
    pooling,
    modelId: flags.model ?? flags.classifier,
    host: flags.host,
    port: flags.port,
    apiKey: flags.apiKey ?? (process.env.BERT_TS_API_KEY || undefined),
    maxBatchTokens: flags.maxBatchTokens,
    maxClientBatchSize: flags.maxClientBatchSize,
    maxQueue: flags.maxQueue,
    maxQueueTokens: flags.maxQueueTokens,
    maxQueueWait: flags.maxQueueWait,
    requestTimeout: flags.requestTimeout,
    ...pool,
    autoTruncate: flags.autoTruncate,
    logRequests: flags.log,
  } as Parameters<typeof import("../../server/app.js").startServer>[0]);
  const { embedding, classifier: clf } = server.context;
  const lines = [`bert-ts: serving on ${server.url} (loaded in ${((performance.now() - started) / 1000).toFixed(1)} s)`];
  if (embedding) {
    const e = embedding.info;
    lines.push(`  embeddings: ${e.dir} — ${e.modelType}, ${e.dimension} dims, ${e.pooling} pooling, max ${e.maxLength} tokens, ${e.backend} backend${e.randomWeights ? " — RANDOM WEIGHTS" : ""}`);
  }
  if (clf) lines.push(`  classifier: ${clf.info.dir} — labels ${clf.info.labels.join(", ")}, max ${clf.maxLength} tokens${clf.info.randomWeights ? " — RANDOM WEIGHTS" : ""}`);
  lines.push(`  ${pool.workers} inference worker${pool.workers > 1 ? "s" : ""} × ${pool.threadsPerWorker} thread${pool.threadsPerWorker > 1 ? "s" : ""}`);
  lines.push(`  routes: /embed /embed_all /embed_sparse /explain /predict /rerank /tokenize /decode /info /health /ready /metrics /v1/embeddings; page: ${server.url}/`);
  if (server.context.options.apiKey) lines.push("  API key required (Authorization: Bearer …) except on /health, /metrics and the page");
  process.stderr.write(lines.join("\n") + "\n");
  process.stdout.write(`${server.url}\n`);

  await new Promise<void>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) {
        process.stderr.write(`bert-ts: ${signal} again, exiting now\n`);
        process.exit(1);
      }
      stopping = true;
      process.stderr.write(`bert-ts: ${signal}: finishing in-flight requests, then exiting\n`);
      server.close().then(resolve, (err: unknown) => {
        process.stderr.write(`bert-ts: error while closing: ${err instanceof Error ? err.message : String(err)}\n`);
        process.exitCode = 1;
        resolve();
      });
    };
    process.on("SIGTERM", stop);
    process.on("SIGINT", stop);
  });
}
