/**
 * The compute interface the model is written against. Model code never imports an implementation:
 * it receives a Backend (reference TypeScript or native C++) and calls only these operations.
 *
 * Layout conventions (all row-major float32):
 * - activations are packed: [rows, features] where rows = all real tokens of all sequences in the batch;
 * - a linear layer's weight is given as PyTorch stores it, [out, in], in float32 or in the half
 *   precision the checkpoint stored (converted exactly, never rounded); the backend copies it once at
 *   load time (prepareLinear) into whatever layout its kernel wants and never keeps the caller's array,
 *   so a loader may read weights through one reused buffer.
 *
 * Outputs: each operation returns a new array, or writes into `out` when the caller passes one of
 * the right length (the model reuses scratch buffers across layers: fresh memory costs page faults
 * and zero-filling on every call). `out` must not alias an input.
 *
 * Batch invariance contract: every output row must depend only on the same input row (and, for
 * attention, only on the rows of its own sequence), computed in an order that does not depend on
 * how many rows there are or where the row sits. A text's vectors are then bit-identical alone or
 * in any batch.
 */

import { halfBitsToFloat32 } from "../io/dtype.js";

export type Activation = "none" | "gelu" | "gelu_new" | "gelu_pytorch_tanh" | "relu" | "tanh";

/**
 * What the linear layers compute in. float32 (default) is exact to PyTorch; bf16 rounds weights
 * and inputs to bfloat16 and accumulates in float32; int8 quantises weights per output channel and
 * inputs per row, with exact integer sums. Embeddings, LayerNorm, softmax and pooling stay float32.
 */
export type Dtype = "float32" | "bf16" | "int8";
export const DTYPES: readonly Dtype[] = ["float32", "bf16", "int8"];

export function parseDtype(v: string, what = "dtype"): Dtype {
  if ((DTYPES as readonly string[]).includes(v)) return v as Dtype;
  throw new Error(`Expected ${what} to be one of ${DTYPES.join(", ")} but received "${v}"`);
}

/** Half-precision values as the checkpoint stored them: the raw bits of each f16 or bf16 element. */
export interface HalfValues {
  readonly format: "f16" | "bf16";
  readonly bits: Uint16Array;
}

/** A weight matrix's values: float32, or f16/bf16 bits that convert to float32 exactly. */
export type WeightValues = Float32Array | HalfValues;

/** A dense layer's parameters after the backend prepared them. Opaque beyond its sizes. */
export interface LinearParams {
  readonly inFeatures: number;
  readonly outFeatures: number;
}

export interface AttentionResult {
  /** [rows, numHeads * headDim] */
  context: Float32Array;
  /** When requested: per sequence, [numHeads, len, len] softmax probabilities. */
  probs?: Float32Array[];
}

/**
 * A learned bias added to every attention score by the distance between key and query (MPNet's
 * relative_attention_bias, modeling_mpnet.py MPNetEncoder.compute_position_bias):
 * score[h][i][j] += table[bucketOfDistance[(j - i) + maxDistance] * numHeads + h].
 */
export interface PositionBias {
  /** [numBuckets, numHeads], laid out as relative_attention_bias.weight. */
  table: Float32Array;
  numBuckets: number;
  /** [2 * maxDistance + 1]: the bucket of each distance j - i in [-maxDistance, maxDistance]. */
  bucketOfDistance: Int32Array;
  /** Longest distance covered; sequences may be at most maxDistance + 1 tokens long. */
  maxDistance: number;
}

/**
 * The bias by distance for each head: [numHeads, 2 * maxDistance + 1], entry (h, (j - i) + maxDistance).
 * Checks the tables against each other and against the longest sequence, so kernels index without checks.
 */
export function positionBiasByDistance(bias: PositionBias, numHeads: number, seqStarts: Int32Array): Float32Array {
  const { table, numBuckets, bucketOfDistance, maxDistance } = bias;
  if (table.length !== numBuckets * numHeads) {
    throw new Error(`Expected a position bias table of ${numBuckets}x${numHeads} values but received ${table.length}`);
  }
  const span = 2 * maxDistance + 1;
  if (bucketOfDistance.length !== span) {
    throw new Error(`Expected ${span} buckets (distances -${maxDistance}..${maxDistance}) but received ${bucketOfDistance.length}`);
  }
  for (let s = 0; s + 1 < seqStarts.length; s++) {
    const len = seqStarts[s + 1] - seqStarts[s];
    if (len > maxDistance + 1) {
      throw new RangeError(`Sequence ${s} has ${len} tokens but the position bias covers distances up to ${maxDistance} only`);
    }
  }
  const out = new Float32Array(numHeads * span);
  for (let d = 0; d < span; d++) {
    const bucket = bucketOfDistance[d];
    if (!(bucket >= 0 && bucket < numBuckets)) throw new RangeError(`Bucket ${bucket} of distance ${d - maxDistance} is outside 0..${numBuckets - 1}`);
    for (let h = 0; h < numHeads; h++) out[h * span + d] = table[bucket * numHeads + h];
  }
  return out;
}

/**
 * A model's embedding tables (BertEmbeddings), as embeddingLayerNorm reads them. All are
 * [count, width] row-major; the word table stays in the checkpoint's precision.
 */
export interface EmbeddingTables {
  readonly words: WeightValues;
  /** Absent for families without token types (DistilBERT, MPNet). */
  readonly tokenTypes?: Float32Array;
  readonly positions: Float32Array;
  readonly gamma: Float32Array;
  readonly beta: Float32Array;
  readonly eps: number;
  readonly width: number;
}

/** Where one layer's exportPacked bytes sit in a packed-weight cache file. */
export interface PackedFileLayer {
  offset: number;
  length: number;
  out: number;
  in: number;
}

export interface Backend {
  /** "reference" or "native" (with details such as the selected kernel, e.g. "native avx512 x2 threads"). */
  readonly name: string;

  /** The precision prepareLinear packs weights in and linear computes in. */
  readonly dtype: Dtype;

  /**
   * weight: [outFeatures, inFeatures] (nn.Linear layout); bias: [outFeatures] or null. Both are
   * copied: the caller may reuse their memory once this returns.
   */
  prepareLinear(weight: WeightValues, bias: Float32Array | null, outFeatures: number, inFeatures: number): LinearParams;

  /** y[rows, out] = activation(x[rows, in] · Wᵀ + b). */
  linear(x: Float32Array, rows: number, params: LinearParams, activation?: Activation, out?: Float32Array): Float32Array;

  /**
   * y[rows, out] = LayerNorm(x · Wᵀ + b + residual) · gamma + beta, per row: a BERT layer's
   * attention-output and FFN-output steps. The same values as linear() then addLayerNorm(); a backend
   * may fuse the two (normalise each row while it is still in cache). `out` must not share memory
   * with x or residual.
   */
  linearAddLayerNorm(x: Float32Array, rows: number, params: LinearParams, residual: Float32Array, norm: LayerNormParams, out?: Float32Array): Float32Array;

  /** y[rows, cols] = LayerNorm(x + residual) · gamma + beta, per row; residual may be null. */
  addLayerNorm(
    x: Float32Array,
    residual: Float32Array | null,
    rows: number,
    cols: number,
    gamma: Float32Array,
    beta: Float32Array,
    eps: number,
    out?: Float32Array,
  ): Float32Array;

  /**
   * The embedding layer: per row r, LayerNorm((words[ids[r]] + tokenTypes[typeIds[r]]) +
   * positions[positionIds[r]]) · gamma + beta, summed in that float32 order as PyTorch does (no
   * token-type term when the tables have none; typeIds is then ignored). Returns [rows, width].
   * Throws a RangeError naming the id when one is outside its table.
   */
  embeddingLayerNorm(tables: EmbeddingTables, ids: Int32Array, typeIds: Int32Array, positionIds: Int32Array, out?: Float32Array): Float32Array;

  /**
   * Mean pooling of packed rows: per sequence s, the mean of rows seqStarts[s] .. seqStarts[s+1]-1
   * of x [rows, width], summed in float64 in row order, divided by the length, then rounded to
   * float32 (sentence-transformers' mean; an empty sequence gives NaN). Returns [numSeqs, width].
   */
  meanPool(x: Float32Array, seqStarts: Int32Array, width: number, out?: Float32Array): Float32Array;

  /**
   * Packed multi-head self-attention.
   * qkv: [rows, 3 * numHeads * headDim]; each row holds that token's query, key and value
   *   projections one after another (Q | K | V), each split into heads as [numHeads, headDim].
   * seqStarts: [numSeqs + 1] row offsets; sequence s owns rows seqStarts[s] .. seqStarts[s+1]-1 and
   *   attends only to those rows (no padding exists in packed form, so no mask is needed).
   * scale: multiplies QKᵀ before the softmax (1 / sqrt(headDim) for BERT).
   * positionBias: added to the scaled scores before the softmax (MPNet); none for other families.
   */
  attention(
    qkv: Float32Array,
    seqStarts: Int32Array,
    numHeads: number,
    headDim: number,
    scale: number,
    wantProbs?: boolean,
    out?: Float32Array,
    positionBias?: PositionBias,
  ): AttentionResult;

  /**
   * The softmax attention of each sequence's first query row only, per head — what pooling
   * "cls_attention" needs from the last layer, at 1/len of the cost of the full matrices.
   * Same qkv/seqStarts/scale/positionBias meaning as attention(). Returns [heads, len_s] per
   * sequence s, concatenated: sequence s starts at numHeads * seqStarts[s].
   */
  firstRowAttention(
    qkv: Float32Array,
    seqStarts: Int32Array,
    numHeads: number,
    headDim: number,
    scale: number,
    positionBias?: PositionBias,
  ): Float32Array;

  /**
   * Packing is worth doing once per weights (int8 quantisation; float32's strided repacking): a
   * backend that can save a prepared layer names what the bytes depend on (dtype, kernel set, layout
   * version) here, and exports / imports them (io/packed-weight-cache.ts keeps the file). Undefined
   * when nothing is worth caching (reference backend).
   */
  readonly packedLayout?: string;
  /** A prepared layer's bytes, or undefined when it has no packed form worth keeping. */
  exportPacked?(params: LinearParams): Uint8Array | undefined;
  /** A layer from exportPacked's bytes; undefined when they do not describe an outFeatures x inFeatures layer this backend can run. */
  importPacked?(bytes: Uint8Array, outFeatures: number, inFeatures: number): LinearParams | undefined;
  /**
   * The layers of a packed-weight cache file, read without copying the file into memory first:
   * undefined when the file cannot be read or its last 8 bytes are not packedChecksum of the rest
   * (corrupt); a layer undefined when its bytes do not describe an `out` x `in` layer this backend runs.
   */
  importPackedFile?(path: string, layers: readonly PackedFileLayer[]): (LinearParams | undefined)[] | undefined;
  /** The cache file's checksum of bytes (xxh64): fast enough to check on every load. */
  packedChecksum?(bytes: Uint8Array): bigint;

  /**
   * A zeroed Float32Array placed where this backend's kernels read and write it fastest (native: on
   * a 64-byte cache line, which Node's allocator does not do for large arrays); possibly a subarray
   * of a larger buffer, so for scratch and reused buffers, not for arrays handed to users.
   * Optional: callers use `new Float32Array(length)` without it (floatArray below).
   */
  allocate?(length: number): Float32Array;

  /**
   * A whole file as an ArrayBuffer whose pages are read from the OS's file cache when first touched
   * (a private mapping: writes to it stay in this process), so a large table (the word embeddings)
   * is read in place: the kernels gather only the rows they need, and nothing is copied. Undefined
   * when the backend cannot map files or the file no longer holds expectedBytes. Optional.
   */
  mapFile?(path: string, expectedBytes: number): ArrayBuffer | undefined;

  /** Releases native memory held for prepared weights, if any. Optional. */
  dispose?(): void;
}

/** backend.allocate(length) where the backend has it, else a plain new Float32Array. */
export function floatArray(backend: Backend, length: number): Float32Array {
  return backend.allocate ? backend.allocate(length) : new Float32Array(length);
}

/** Number of values in a weight matrix, whatever its storage. */
export function weightLength(w: WeightValues): number {
  return w instanceof Float32Array ? w.length : w.bits.length;
}

/** A new float32 copy of a weight matrix (half precision converted exactly). */
export function weightsToFloat32(w: WeightValues): Float32Array {
  if (w instanceof Float32Array) return w.slice();
  const out = new Float32Array(w.bits.length);
  halfBitsToFloat32(w.format, w.bits, 0, out);
  return out;
}

/** Throws unless a position bias covers `heads` heads and sequences of up to maxLen tokens. */
export function checkPositionBias(bias: PositionBias, heads: number, maxLen: number): void {
  const { table, numBuckets, bucketOfDistance, maxDistance } = bias;
  if (table.length !== numBuckets * heads) {
    throw new Error(`Expected a position bias table of ${numBuckets}x${heads} values but received ${table.length}`);
  }
  if (bucketOfDistance.length !== 2 * maxDistance + 1) {
    throw new Error(`Expected ${2 * maxDistance + 1} bucket indices for maxDistance ${maxDistance} but received ${bucketOfDistance.length}`);
  }
  if (maxLen - 1 > maxDistance) throw new Error(`A sequence of ${maxLen} tokens exceeds the position bias' maxDistance ${maxDistance}`);
  for (const b of bucketOfDistance) {
    if (!Number.isInteger(b) || b < 0 || b >= numBuckets) throw new Error(`Expected bucket indices in 0..${numBuckets - 1} but received ${b}`);
  }
}

/** Backends check every argument's length before the kernels index into it. */
export function checkLength(what: string, a: ArrayLike<number>, want: number): void {
  if (a.length !== want) throw new Error(`Expected ${want} values for ${what} but received ${a.length}`);
}

/** A LayerNorm's parameters: y = (x − mean) / sqrt(var + eps) · gamma + beta, per row. */
export interface LayerNormParams {
  readonly gamma: Float32Array;
  readonly beta: Float32Array;
  readonly eps: number;
}

/** The argument checks of Backend.addLayerNorm, shared by the kernel backends. */
export function checkLayerNormArgs(x: Float32Array, residual: Float32Array | null, rows: number, cols: number, gamma: Float32Array, beta: Float32Array): void {
  checkLength("layer norm's input", x, rows * cols);
  if (residual) checkLength("the residual", residual, rows * cols);
  checkLength("gamma", gamma, cols);
  checkLength("beta", beta, cols);
}

/** Backend.linearAddLayerNorm as its two steps (for backends that do not fuse them). */
export function linearThenAddLayerNorm(backend: Backend, x: Float32Array, rows: number, params: LinearParams, residual: Float32Array, norm: LayerNormParams, out?: Float32Array): Float32Array {
  checkDisjoint(out, x, residual);
  const y = backend.linear(x, rows, params, "none", out);
  return backend.addLayerNorm(y, residual, rows, params.outFeatures, norm.gamma, norm.beta, norm.eps, y);
}

/** Throws when `out` shares memory with one of the inputs (a fused kernel would read what it overwrote). */
export function checkDisjoint(out: Float32Array | undefined, ...inputs: Float32Array[]): void {
  if (!out) return;
  for (const a of inputs) {
    if (a.buffer !== out.buffer) continue;
    if (a.byteOffset < out.byteOffset + out.byteLength && out.byteOffset < a.byteOffset + a.byteLength) {
      throw new Error("linearAddLayerNorm: the output buffer overlaps an input (x or residual)");
    }
  }
}

/** The caller's buffer when it has the right length, else a new one. */
export function output(out: Float32Array | undefined, length: number): Float32Array {
  if (out === undefined) return new Float32Array(length);
  if (out.length !== length) throw new Error(`Expected an output buffer of ${length} values but received ${out.length}`);
  return out;
}
