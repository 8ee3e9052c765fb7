/**
 * The compute interface the model is written against. Model code never imports an implementation:
 * it receives a Backend (reference TypeScript or native C++) and calls only these operations.
 *
 * Layout conventions (all row-major float32):
 * - activations are packed: [rows, features] where rows = all real tokens of all sequences in the batch;
 * - a linear layer's weight is given as PyTorch stores it, [out, in], and the backend may repack it
 *   once at load time (prepareLinear) into whatever layout its kernel wants.
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

export type Activation = "none" | "gelu" | "gelu_new" | "gelu_pytorch_tanh" | "relu" | "tanh";

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

export interface Backend {
  /** "reference" or "native" (with details such as the selected kernel, e.g. "native avx512 x2 threads"). */
  readonly name: string;

  /** weight: [outFeatures, inFeatures] (nn.Linear layout); bias: [outFeatures] or null. */
  prepareLinear(weight: Float32Array, bias: Float32Array | null, outFeatures: number, inFeatures: number): LinearParams;

  /** y[rows, out] = activation(x[rows, in] · Wᵀ + b). */
  linear(x: Float32Array, rows: number, params: LinearParams, activation?: Activation, out?: Float32Array): Float32Array;

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
   * Packed multi-head self-attention.
   * qkv: [rows, 3 * numHeads * headDim]; each row holds that token's query, key and value
   *   projections one after another (Q | K | V), each split into heads as [numHeads, headDim].
   * seqStarts: [numSeqs + 1] row offsets; sequence s owns rows seqStarts[s] .. seqStarts[s+1]-1 and
   *   attends only to those rows (no padding exists in packed form, so no mask is needed).
   * scale: multiplies QKᵀ before the softmax (1 / sqrt(headDim) for BERT).
   */
  attention(
    qkv: Float32Array,
    seqStarts: Int32Array,
    numHeads: number,
    headDim: number,
    scale: number,
    wantProbs?: boolean,
    out?: Float32Array,
  ): AttentionResult;

  /** Releases native memory held for prepared weights, if any. Optional. */
  dispose?(): void;
}

/** The caller's buffer when it has the right length, else a new one. */
export function output(out: Float32Array | undefined, length: number): Float32Array {
  if (out === undefined) return new Float32Array(length);
  if (out.length !== length) throw new Error(`Expected an output buffer of ${length} values but received ${out.length}`);
  return out;
}
