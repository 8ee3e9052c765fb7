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
import type { ClassifierModelInfo, EmbeddingModelInfo } from "./protocol.js";

export interface LoadedEmbedding {
  info: EmbeddingModelInfo;
  tokenizer: Tokenizer;
}

export interface LoadedClassifier {
  info: ClassifierModelInfo;
  tokenizer: Tokenizer;
  maxLength: number;
}

export interface ServerContext {
  options: ServerOptions;
  modelId: string;
  version: string;
  embedding?: LoadedEmbedding;
  classifier?: LoadedClassifier;
  engine: InferenceEngine;
  batcher: Batcher;
  metrics: ServerMetrics;
  /** Set when close() starts: new requests get 503 while in-flight ones finish. */
  closing: boolean;
}

export function requireEmbedding(ctx: ServerContext): LoadedEmbedding {
  if (!ctx.embedding) throw new ApiError(400, "validation", "No embedding model is loaded: start the server with --model DIR");
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
