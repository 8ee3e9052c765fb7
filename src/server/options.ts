/**
 * What `bert-ts serve` can be told, with text-embeddings-inference's defaults where it has one.
 */
import type { PoolingStrategy } from "../pooling/strategies.js";

export interface ServerOptions {
  /** Embedding model folder (already resolved). */
  model?: string;
  /** The embedding model's pooling (default: its own); see POOLING_STRATEGIES. */
  pooling?: PoolingStrategy;
  /** Sequence-classification model folder for /predict. */
  classifier?: string;
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
  /** Largest request body in bytes (TEI's default payload limit is 2 MB). */
  bodyLimit: number;
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
  bodyLimit: 2 * 1024 * 1024,
  autoTruncate: false,
  logRequests: false,
};
