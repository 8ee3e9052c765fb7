import { availableParallelism } from "node:os";

/**
 * What `bert-ts serve` can be told, with text-embeddings-inference's defaults where it has one.
 */
import type { ResolvedModel } from "../io/hub.js";
import type { PoolingStrategy } from "../pooling/strategies.js";

export interface ServerOptions {
  /** Embedding model folder (already resolved). */
  model?: string;
  /** Serve the model as SPLADE (a masked-LM checkpoint): /embed_sparse. */
  sparse?: boolean;
  /** The embedding model's pooling (default: its own); see POOLING_STRATEGIES. */
  pooling?: PoolingStrategy;
  /** Sequence-classification model folder for /predict. */
  classifier?: string;
  /** How each model was found (hub id, revision, commit), for provenance; default: its folder. */
  modelResolved?: ResolvedModel;
  classifierResolved?: ResolvedModel;
  /** Name reported by /info and in OpenAI responses (default: the folder's name). */
  modelId?: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Bearer token required on every route except /health, /metrics and the page. */
  apiKey?: string;
  /** Most real tokens in one forward pass. */
  maxBatchTokens: number;
  /** Most inputs in one request. */
  maxClientBatchSize: number;
  /** Most requests admitted (queued or running) at once; the next gets 429. */
  maxQueue: number;
  /** Most tokens waiting for a forward pass; a request that would pass it gets 429. */
  maxQueueTokens: number;
  /** A request that would wait longer than this (seconds, estimated from measured throughput) gets 503. */
  maxQueueWait: number;
  /** Inference worker threads, each with its own copy of the model(s). */
  workers: number;
  /** Native compute threads per worker. */
  threadsPerWorker: number;
  /** Largest request body in bytes (TEI's default payload limit is 2 MB). */
  bodyLimit: number;
  /**
   * Seconds a forward pass may take before its worker counts as hung (terminated, restarted, its
   * requests retried once); longer for a batch whose measured throughput says it needs it.
   */
  batchTimeout: number;
  /** Seconds a client has to send a whole request (headers and body); slower ones get 408. */
  requestTimeout: number;
  /** Most characters /tokenize takes in one request (it answers one object per token). */
  maxTokenizeChars: number;
  /** Most numbers one /embed_all response may hold (tokens × hidden size). */
  maxEmbedAllValues: number;
  /** Default for requests that do not say `truncate` (TEI's --auto-truncate). */
  autoTruncate: boolean;
  /** Log each request to stderr. */
  logRequests: boolean;
}

export const DEFAULT_SERVER_OPTIONS: ServerOptions = {
  host: "127.0.0.1",
  port: 8080,
  maxBatchTokens: 16384,
  maxClientBatchSize: 32,
  maxQueue: 512,
  maxQueueTokens: 131072,
  maxQueueWait: 30,
  workers: 1,
  threadsPerWorker: threadsFromEnv() ?? availableParallelism(),
  bodyLimit: 2 * 1024 * 1024,
  batchTimeout: 60,
  requestTimeout: 30,
  maxTokenizeChars: 100_000,
  maxEmbedAllValues: 2_000_000,
  autoTruncate: false,
  logRequests: false,
};

/**
 * --workers and threads per worker: given neither, one worker using every core (the kernels are
 * multi-threaded, so one worker is already fastest); given one, the other shares the cores out.
 */
export function poolSize(workers: number | undefined, threads: number | undefined, cores = availableParallelism()): { workers: number; threadsPerWorker: number } {
  if (workers === undefined) {
    const t = threads ?? cores;
    return { workers: Math.max(1, Math.floor(cores / t)), threadsPerWorker: t };
  }
  return { workers, threadsPerWorker: threads ?? Math.max(1, Math.floor(cores / workers)) };
}

/** BERT_TS_THREADS, the native backend's thread count, when set. */
export function threadsFromEnv(): number | undefined {
  const v = process.env.BERT_TS_THREADS;
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  return Number.isInteger(n) && n >= 1 ? n : undefined;
}
