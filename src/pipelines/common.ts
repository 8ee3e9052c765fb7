/**
 * What every pipeline shares: resolving the model (folder, models dir, HF cache or hub), loading its
 * tokenizer and task head, and encoding texts the way the model can take them.
 */
import type { Backend, Dtype } from "../backend/backend.js";
import type { BackendName } from "../backend/index.js";
import type { BertConfig } from "../config/bert-config.js";
import { headForModel, type HeadTask, type HeadsByTask } from "../heads/index.js";
import { resolveModel, type ResolveOptions } from "../io/hub.js";
import { BertModel } from "../models/bert/model.js";
import type { Encoding } from "../tokenizers/encoding.js";
import { loadTokenizer } from "../tokenizers/index.js";
import type { EncodeOptions, TextInput, Tokenizer } from "../tokenizers/tokenizer.js";
import { checkEncoding, checkTokenizerFitsModel } from "./input-check.js";
import type { AggregationStrategy } from "./token-classification.js";

export interface PipelineOptions {
  /** Compute backend; default: native when built, else the TypeScript reference. */
  backend?: Backend | BackendName;
  /** What the linear layers compute in: float32 (default), bf16 or int8 (native backend). */
  dtype?: Dtype;
  /** Use this tokenizer instead of the model folder's. */
  tokenizer?: Tokenizer;
  /** How a model name is looked up (revision, cache, offline...); a local folder needs none. */
  resolve?: ResolveOptions;
  /** Texts per forward pass (the encoder packs them without padding). Default 32. */
  batchSize?: number;
  /** token-classification: the default aggregation ("none", as Hugging Face) and labels left out (["O"]). */
  aggregationStrategy?: AggregationStrategy;
  ignoreLabels?: readonly string[];
}

export interface PipelineParts<T extends HeadTask> {
  dir: string;
  tokenizer: Tokenizer;
  head: HeadsByTask[T];
  /** Longest input the model takes, in tokens (longer inputs are truncated). */
  maxLength: number;
  /** The model's config: each encoding's ids are checked against its tables before batching. */
  config: BertConfig;
  batchSize: number;
}

export async function loadPipelineParts<T extends HeadTask>(task: T, modelNameOrPath: string, options: PipelineOptions): Promise<PipelineParts<T>> {
  const { dir } = await resolveModel(modelNameOrPath, options.resolve);
  const [tokenizer, model] = await Promise.all([
    options.tokenizer ?? loadTokenizer(dir),
    BertModel.fromPretrained(dir, { backend: options.backend, dtype: options.dtype }),
  ]);
  const batchSize = options.batchSize ?? 32;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new TypeError(`Expected a positive integer for batchSize but received ${batchSize}`);
  checkTokenizerFitsModel(tokenizer, model.config, dir);
  return {
    dir,
    tokenizer,
    config: model.config,
    head: headForModel(task, model),
    maxLength: Math.min(tokenizer.modelMaxLength, model.config.max_position_embeddings),
    batchSize,
  };
}

/** Encodes texts (or pairs) for the model: special tokens, truncation to the model's length, no padding (packed). */
export function encodeForModel(
  parts: Pick<PipelineParts<HeadTask>, "tokenizer" | "maxLength"> & { config?: BertConfig },
  inputs: readonly TextInput[],
  options: EncodeOptions = {},
): Encoding[] {
  const encodings = parts.tokenizer.encodeBatch(inputs, { truncation: "longest_first", maxLength: parts.maxLength, ...options });
  if (parts.config) encodings.forEach((e, i) => checkEncoding(e, i, parts.config as BertConfig));
  return encodings;
}

/** Runs `f` over consecutive slices of at most `size` items and concatenates the results. */
export function inBatches<I, O>(items: readonly I[], size: number, f: (batch: readonly I[]) => O[]): O[] {
  const out: O[] = [];
  for (let i = 0; i < items.length; i += size) out.push(...f(items.slice(i, i + size)));
  return out;
}

export function checkTopK(topK: unknown, name = "topK"): void {
  if (topK === null || topK === undefined) return;
  if (typeof topK !== "number" || !Number.isInteger(topK) || topK < 1) {
    throw new TypeError(`Expected a positive integer or null for ${name} but received ${JSON.stringify(topK)}`);
  }
}
