/**
 * Messages between the HTTP thread and the inference worker. Token ids travel packed in one
 * Int32Array per batch and results come back in one Float32Array, both transferred (not copied).
 */
import type { ResolvedModel } from "../io/hub.js";
import type { ClassificationFunction } from "../pipelines/text-classification.js";
import type { ModelProvenance, Provenance } from "../pipelines/provenance.js";
import { POOLING_STRATEGIES, type PoolingStrategy } from "../pooling/strategies.js";

export type ModelRole = "embedding" | "classifier";

/**
 * What each input of a batch asks for: the model's own pooling, its token vectors, or a pooling
 * the request chose (OUTPUT_POOLING_BASE + the strategy's index in POOLING_STRATEGIES).
 */
export const OUTPUT_POOLED = 0;
export const OUTPUT_TOKENS = 1;
/** One value per token: what the pooling looks at (src/pooling/explain.ts). */
export const OUTPUT_EXPLAIN = 2;
const OUTPUT_POOLING_BASE = 3;
export type OutputKind = number;

/** The output kind for a request's pooling (undefined: the model's own). */
export function outputForPooling(pooling: PoolingStrategy | undefined): OutputKind {
  return pooling === undefined ? OUTPUT_POOLED : OUTPUT_POOLING_BASE + POOLING_STRATEGIES.indexOf(pooling);
}

/** The pooling an output kind names; undefined for OUTPUT_POOLED, OUTPUT_TOKENS and OUTPUT_EXPLAIN. */
export function poolingOfOutput(kind: OutputKind): PoolingStrategy | undefined {
  return kind >= OUTPUT_POOLING_BASE ? POOLING_STRATEGIES[kind - OUTPUT_POOLING_BASE] : undefined;
}

export interface WorkerConfig {
  embedding?: string;
  /** Run the embedding model as SPLADE (masked-LM head, sparse vectors for /embed_sparse). */
  sparse?: boolean;
  /** The embedding model's pooling, when not its own. */
  pooling?: PoolingStrategy;
  classifier?: string;
  /** How the models were found (hub id, revision, commit): their provenance names them. */
  embeddingResolved?: ResolvedModel;
  classifierResolved?: ResolvedModel;
  /** Honour the test fault hook (BERT_TS_TEST_FAULTS=1 only; see Batcher). */
  testFaults?: boolean;
}

/** What the test fault hook makes a worker do with a batch: exit mid-batch, throw, or never answer. */
export type TestFault = "exit" | "throw" | "hang";

export interface EmbeddingModelInfo {
  dir: string;
  pooling: PoolingStrategy | "splade";
  /** false: the model's Pooling module leaves prompt tokens out (include_prompt false). */
  includePrompt: boolean;
  /** SPLADE: outputs are sparse vectors, flattened as [id, value, id, value, ...]. */
  sparse: boolean;
  /** The model's own normalisation (sentence-transformers Normalize module). */
  normalize: boolean;
  maxLength: number;
  dimension: number;
  hiddenSize: number;
  /** The checkpoint has pooler weights (pooling "pooler" is available). */
  hasPooler: boolean;
  /** Rows of the word embedding matrix (every token id must be below it). */
  vocabSize: number;
  /** Rows of the token type embedding matrix. */
  typeVocabSize: number;
  modelType: string;
  randomWeights: boolean;
  backend: string;
  /** The model's provenance with its default pooling (requests add theirs). */
  provenance: Provenance;
}

export interface ClassifierModelInfo {
  dir: string;
  labels: string[];
  defaultFunction: ClassificationFunction;
  /** config.json max_position_embeddings (the HTTP thread caps it by the tokenizer's limit, as the pipeline does). */
  maxPositionEmbeddings: number;
  vocabSize: number;
  typeVocabSize: number;
  modelType: string;
  randomWeights: boolean;
  provenance: ModelProvenance;
}

export type WorkerReady = {
  type: "ready";
  embedding?: EmbeddingModelInfo;
  classifier?: ClassifierModelInfo;
  /** Tokens per second of the second warm-up forward pass (seeds the queue-wait estimate). */
  warmupTokensPerSecond: number;
};
export type WorkerLoadFailed = { type: "load-failed"; message: string };

export interface BatchRequest {
  type: "batch";
  id: number;
  model: ModelRole;
  /** Concatenated input ids of every sequence. */
  ids: Int32Array;
  /** Concatenated token type ids, aligned with ids. */
  typeIds: Int32Array;
  /** [n + 1] offsets of each sequence in ids. */
  starts: Int32Array;
  /** One OutputKind per sequence (embedding model only). */
  outputs: Uint8Array;
  /** Test fault hook: what the worker must do instead of running the batch. */
  fault?: TestFault;
}

export interface BatchResult {
  type: "result";
  id: number;
  /** Every sequence's output, concatenated. */
  data: Float32Array;
  /** [n + 1] offsets of each sequence's output in data. */
  starts: Int32Array;
  /** Milliseconds spent in the forward pass. */
  computeMs: number;
}

export interface BatchFailed {
  type: "failed";
  id: number;
  message: string;
}

export type WorkerMessage = WorkerReady | WorkerLoadFailed | BatchResult | BatchFailed;
