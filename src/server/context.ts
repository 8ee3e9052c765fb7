/**
 * What every route needs: options, the loaded models' descriptions and tokenizers, the batcher
 * and the metrics. Built once by app.ts.
 */
import type { Tokenizer } from "../tokenizers/tokenizer.js";
import type { Batcher } from "./batcher.js";
import type { InferenceEngine } from "./engine.js";
import { ApiError } from "./errors.js";
import type { LengthPolicy, TruncationDirection } from "./inputs.js";
import type { ServerMetrics } from "./metrics.js";
import type { ServerOptions } from "./options.js";
import type { Prompts } from "../pooling/st-modules.js";
import type { PoolingStrategy } from "../pooling/strategies.js";
import type { ClassifierModelInfo, EmbeddingModelInfo } from "./protocol.js";

export interface LoadedEmbedding {
  /** Hub id or folder name (model-id.ts). */
  id: string;
  info: EmbeddingModelInfo;
  tokenizer: Tokenizer;
  /** config_sentence_transformers.json's prompts (TEI's prompt_name). */
  prompts: Prompts;
}

export interface LoadedClassifier {
  /** Hub id or folder name (model-id.ts). */
  id: string;
  info: ClassifierModelInfo;
  tokenizer: Tokenizer;
  maxLength: number;
}

export interface ServerContext {
  options: ServerOptions;
  /** The first loaded model's id (the embedding model's, else the classifier's): see model-id.ts. */
  modelId: string;
  /** Unix seconds when the server started (OpenAI's `created` in /v1/models). */
  startedAt: number;
  version: string;
  embedding?: LoadedEmbedding;
  classifier?: LoadedClassifier;
  engine: InferenceEngine;
  batcher: Batcher;
  metrics: ServerMetrics;
  /** Set when close() starts: new requests get 503 while in-flight ones finish. */
  closing: boolean;
}

/** A dense embedding model: one with a (dense) pooling strategy. */
export type DenseEmbedding = LoadedEmbedding & { info: { pooling: PoolingStrategy } };

function isDense(model: LoadedEmbedding): model is DenseEmbedding {
  return !model.info.sparse && model.info.pooling !== "splade";
}

/** The dense embedding model (a SPLADE model serves /embed_sparse only). */
export function requireEmbedding(ctx: ServerContext): DenseEmbedding {
  if (!ctx.embedding) throw new ApiError(400, "validation", "No embedding model is loaded: start the server with --model DIR");
  if (!isDense(ctx.embedding)) throw new ApiError(400, "validation", "The model is served as SPLADE (--pooling splade): use /embed_sparse");
  return ctx.embedding;
}

export function requireSparseEmbedding(ctx: ServerContext): LoadedEmbedding {
  if (!ctx.embedding?.info.sparse) throw new ApiError(400, "validation", "No SPLADE model is loaded: start the server with --model DIR --pooling splade");
  return ctx.embedding;
}

export function requireClassifier(ctx: ServerContext): LoadedClassifier {
  if (!ctx.classifier) throw new ApiError(400, "validation", "No classifier is loaded: start the server with --classifier DIR");
  return ctx.classifier;
}

/** The request's truncation settings, defaulting to the server's --auto-truncate. */
export function lengthPolicy(
  ctx: ServerContext,
  maxLength: number,
  body: { truncate?: boolean | null; truncation_direction?: string | null },
): LengthPolicy {
  const direction: TruncationDirection = body.truncation_direction?.toLowerCase() === "left" ? "Left" : "Right";
  return { maxLength, truncate: body.truncate ?? ctx.options.autoTruncate, direction };
}
