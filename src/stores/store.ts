/**
 * A corpus store keeps documents, their vectors and where each vector came from, so a corpus can be
 * indexed once, kept up to date, and searched. One interface, one file per engine:
 * sqlite-store.ts (a single file, the embedded default) and postgres-store.ts (pgvector, shared by
 * many worker processes). The indexer (pipelines/corpus-index.ts) and the CLI go through this
 * interface only.
 *
 * Life of a document: ingest registers it as `pending` (new, or text changed), `done` once its
 * vectors are written, `failed` with a reason when it cannot be embedded. Vectors and the `done`
 * mark are written in one transaction, so an interrupted run never leaves half a document.
 */

import type { Provenance } from "../pipelines/provenance.js";

/**
 * What makes two vectors comparable: a store holds vectors of one space only, and refuses writes
 * or queries from another (no silent mixing of models or poolings).
 */
export interface VectorSpace {
  /** Model id or folder as the user named it (informational; the weights hash decides). */
  model: string;
  /** sha256 of the weight files, in file-name order. */
  weightsSha256: string;
  pooling: string;
  layers: string;
  normalize: boolean;
  dimension: number;
  maxLength: number;
  longInputs: "truncate" | "chunk" | "error";
  /** Chunk windows' overlap in tokens (chunk mode), else null. */
  chunkStride: number | null;
  dtype: string;
  /** The prompt put before every document ("" for none; stores made before prompts lack it). */
  prompt?: string;
  /** The prompt queries must be embedded with to search these vectors ("" for none). */
  queryPrompt?: string;
}

/** The fields of a space that must match for vectors to be mixed (not the model's display name). */
export const SPACE_KEYS: readonly (keyof VectorSpace)[] = [
  "weightsSha256",
  "pooling",
  "layers",
  "normalize",
  "dimension",
  "maxLength",
  "longInputs",
  "chunkStride",
  "dtype",
  "prompt",
  "queryPrompt",
];

/** Differences between the store's space and the one asked for, as "field: stored → asked" lines. */
export function spaceDifferences(stored: VectorSpace, asked: VectorSpace): string[] {
  // A store written before prompts were recorded had none.
  const value = (s: VectorSpace, k: keyof VectorSpace) => (k === "prompt" || k === "queryPrompt" ? s[k] ?? "" : s[k]);
  return SPACE_KEYS.filter((k) => value(stored, k) !== value(asked, k)).map(
    (k) => `${k}: ${JSON.stringify(value(stored, k))} in the store, ${JSON.stringify(value(asked, k))} asked`,
  );
}

export class StoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StoreError";
  }
}

/** The error for a query or write from another vector space. */
export function spaceMismatch(location: string, stored: VectorSpace, asked: VectorSpace): StoreError {
  return new StoreError(
    `${location} holds vectors of another space (model ${stored.model}); refusing to mix them:\n  ${spaceDifferences(stored, asked).join("\n  ")}\n` +
      "Use the model, pooling and prompt options the index was built with, or index into a new store.",
  );
}

/** Throws spaceMismatch when a store already holds vectors of a space other than `asked` (every store and the index check this the same way). */
export function requireSameSpace(location: string, stored: VectorSpace | null, asked: VectorSpace): void {
  if (stored && spaceDifferences(stored, asked).length > 0) throw spaceMismatch(location, stored, asked);
}

export interface DocumentInput {
  /** Stable id: given by the input (a .jsonl id field, a .csv id column) or file path + line. */
  id: string;
  text: string;
  /** Where it was read from (file:line), for the user. */
  source: string;
}

export interface PendingDocument {
  id: string;
  text: string;
  contentHash: string;
}

/** One vector of a document: the whole text, or one window of it (chunk mode). */
export interface VectorRecord {
  docId: string;
  /** 0 for a whole document; 0, 1, ... for its windows. */
  window: number;
  /** Character span of the window in the document (UTF-16 code units, end exclusive). */
  start: number;
  end: number;
  vector: Float32Array;
  /** Tokens the model saw for this vector (special tokens included). */
  tokenCount: number;
  truncated: boolean;
}

/**
 * Everything recorded about how a store's vectors were made (one row, referenced per vector): the
 * encoder's provenance (model id, revision and commit, weights sha256, architecture, pooling and its
 * source, normalisation, prompt, length policy, dtype, kernels, bert-ts version), as `embed --provenance` writes it.
 */
export type VectorProvenance = Provenance;

export interface IngestCounts {
  added: number;
  changed: number;
  unchanged: number;
}

export interface SearchHit {
  id: string;
  window: number;
  start: number;
  end: number;
  /** Cosine similarity. */
  score: number;
  text: string;
}

export interface StoreStatus {
  documents: number;
  done: number;
  pending: number;
  failed: number;
  vectors: number;
  /** Documents marked done per second over the last minute of work, when known. */
  recentRate: number | null;
  space: VectorSpace | null;
}

/** A batch of pending documents held by one worker until it commits or releases them. */
export interface Claim {
  documents: PendingDocument[];
  /** Writes the vectors, marks their documents done (and `failures` failed) — atomically. */
  commit(vectors: VectorRecord[], failures: { id: string; error: string }[]): Promise<void>;
  /** Gives the documents back untouched (they stay pending). */
  release(): Promise<void>;
}

export interface CorpusStore {
  /** The file path or URL (password hidden), for messages. */
  readonly location: string;
  /** The store's space, or null while it has none (a new store). */
  space(): Promise<VectorSpace | null>;
  /** Adopts `space` on a new store; on an existing one, refuses any other. Records the provenance. */
  bindSpace(space: VectorSpace, provenance: VectorProvenance): Promise<void>;
  /** Starts an ingest run: documents upserted in it are the ones `finishRun` keeps when pruning. */
  beginRun(): Promise<number>;
  upsertDocuments(run: number, documents: readonly DocumentInput[]): Promise<IngestCounts>;
  /** Ends a run; with `prune`, removes documents (and vectors) not seen in it. Returns how many were removed. */
  finishRun(run: number, prune: boolean): Promise<number>;
  /**
   * Starts opening, in the background, whatever claims will need (PostgreSQL: the claim
   * connections), so it is ready by the time the model is. Optional; claims work without it.
   */
  prepareClaims?(): void;
  /**
   * Up to `limit` pending documents, held for this worker; null when none is pending. A store shared
   * by several workers may hand out fewer near the end of a load, so they finish together.
   */
  claimPending(limit: number, worker: string): Promise<Claim | null>;
  /**
   * Called by the indexer when it finds nothing pending: makes whatever search structure the store
   * defers during a bulk load (PostgreSQL: the HNSW index, built once over all rows rather than
   * grown row by row). A no-op where there is none; safe from many workers at once.
   */
  finishPending(): Promise<void>;
  /** Failed documents go back to pending (e.g. after fixing the cause). */
  retryFailed(): Promise<number>;
  /** For each query, the k vectors closest to it (cosine), best first. */
  search(queries: readonly Float32Array[], k: number, options?: { exact?: boolean }): Promise<SearchHit[][]>;
  /** The stored vectors of one document, window order (for checks and exports). */
  vectorsOf(id: string): Promise<VectorRecord[]>;
  status(): Promise<StoreStatus>;
  close(): Promise<void>;
}
