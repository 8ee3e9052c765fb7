/**
 * The reference backend: plain TypeScript, readable, and the oracle the native kernels are tested
 * against. Accumulation is in float64 for the dot products of linear layers; every output row is
 * computed from its own input row only, in a fixed order (batch invariance).
 */
import {
  checkPositionBias,
  output,
  weightLength,
  weightsToFloat32,
  type Activation,
  type AttentionResult,
  type Backend,
  type EmbeddingTables,
  type Dtype,
  type LayerNormParams,
  type LinearParams,
  type PositionBias,
  type WeightValues,
  positionBiasByDistance,
  linearThenAddLayerNorm,
} from "./backend.js";
import { gatherEmbeddingLayerNorm } from "./embedding-gather.js";
import { meanPoolRows } from "./mean-pool.js";
import { applyActivation } from "./activations.js";

interface ReferenceLinear extends LinearParams {
  /** [out, in], as PyTorch stores it: each output is a dot product of two contiguous rows. */
  readonly weight: Float32Array;
  readonly bias: Float32Array | null;
}

export class ReferenceBackend implements Backend {
  readonly name = "reference";
  /** The reference computes in float32 only (float64 sums); bf16 and int8 need the native backend. */
  readonly dtype: Dtype = "float32";

  prepareLinear(weight: WeightValues, bias: Float32Array | null, outFeatures: number, inFeatures: number): LinearParams {
    if (weightLength(weight) !== outFeatures * inFeatures) {
      throw new Error(`Expected a weight of ${outFeatures}x${inFeatures} values but received ${weightLength(weight)}`);
    }
    if (bias && bias.length !== outFeatures) {
      throw new Error(`Expected a bias of ${outFeatures} values but received ${bias.length}`);
    }
    // Copies: the caller may reuse its buffers (the weight loader does).
    const params: ReferenceLinear = { inFeatures, outFeatures, weight: weightsToFloat32(weight), bias: bias && bias.slice() };
    return params;
  }

  linear(x: Float32Array, rows: number, params: LinearParams, activation: Activation = "none", out?: Float32Array): Float32Array {
    const { weight, bias, inFeatures: k, outFeatures: n } = params as ReferenceLinear;
    if (x.length !== rows * k) throw new Error(`linear: expected ${rows}x${k} inputs but received ${x.length}`);
    const y = output(out, rows * n);
    // Four output columns at a time keeps the x row in registers/L1 while streaming W rows.
    for (let r = 0; r < rows; r++) {
      const xo = r * k;
      const yo = r * n;
      let o = 0;
      for (; o + 4 <= n; o += 4) {
        const w0 = o * k, w1 = w0 + k, w2 = w1 + k, w3 = w2 + k;
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
        for (let i = 0; i < k; i++) {
          const xv = x[xo + i];
          s0 += xv * weight[w0 + i];
          s1 += xv * weight[w1 + i];
          s2 += xv * weight[w2 + i];
          s3 += xv * weight[w3 + i];
        }
        y[yo + o] = s0 + (bias ? bias[o] : 0);
        y[yo + o + 1] = s1 + (bias ? bias[o + 1] : 0);
        y[yo + o + 2] = s2 + (bias ? bias[o + 2] : 0);
        y[yo + o + 3] = s3 + (bias ? bias[o + 3] : 0);
      }
      for (; o < n; o++) {
        const w0 = o * k;
        let s = 0;
        for (let i = 0; i < k; i++) s += x[xo + i] * weight[w0 + i];
        y[yo + o] = s + (bias ? bias[o] : 0);
      }
    }
    if (activation !== "none") applyActivation(y, activation);
    return y;
  }

  linearAddLayerNorm(x: Float32Array, rows: number, params: LinearParams, residual: Float32Array, norm: LayerNormParams, out?: Float32Array): Float32Array {
    return linearThenAddLayerNorm(this, x, rows, params, residual, norm, out);
  }

  addLayerNorm(
    x: Float32Array,
    residual: Float32Array | null,
    rows: number,
    cols: number,
    gamma: Float32Array,
    beta: Float32Array,
    eps: number,
    out?: Float32Array,
  ): Float32Array {
    const y = output(out, rows * cols);
    const tmp = new Float64Array(cols);
    for (let r = 0; r < rows; r++) {
      const o = r * cols;
      let mean = 0;
      for (let c = 0; c < cols; c++) {
        const v = x[o + c] + (residual ? residual[o + c] : 0);
        // PyTorch adds the residual in float32 before normalising.
        tmp[c] = Math.fround(v);
        mean += tmp[c];
      }
      mean /= cols;
      let variance = 0;
      for (let c = 0; c < cols; c++) {
        const d = tmp[c] - mean;
        variance += d * d;
      }
      variance /= cols; // biased variance, as nn.LayerNorm
      const inv = 1 / Math.sqrt(variance + eps);
      for (let c = 0; c < cols; c++) y[o + c] = (tmp[c] - mean) * inv * gamma[c] + beta[c];
    }
    return y;
  }

  attention(
    qkv: Float32Array,
    seqStarts: Int32Array,
    numHeads: number,
    headDim: number,
    scale: number,
    wantProbs = false,
    out?: Float32Array,
    positionBias?: PositionBias,
  ): AttentionResult {
    const hidden = numHeads * headDim;
    // [heads, 2·maxDistance + 1]: the bias of key j for query i sits at (j - i) + maxDistance.
    const biasByDistance = positionBias && positionBiasByDistance(positionBias, numHeads, seqStarts);
    const maxDistance = positionBias?.maxDistance ?? 0;
    const stride = 3 * hidden;
    const totalRows = seqStarts[seqStarts.length - 1];
    const context = output(out, totalRows * hidden);
    const probs: Float32Array[] = [];
    for (let s = 0; s + 1 < seqStarts.length; s++) {
      const start = seqStarts[s];
      const len = seqStarts[s + 1] - start;
      const p = new Float32Array(numHeads * len * len);
      const scores = new Float64Array(len);
      for (let h = 0; h < numHeads; h++) {
        const qOff = h * headDim;
        const kOff = hidden + h * headDim;
        const vOff = 2 * hidden + h * headDim;
        for (let i = 0; i < len; i++) {
          const qRow = (start + i) * stride + qOff;
          let max = -Infinity;
          for (let j = 0; j < len; j++) {
            const kRow = (start + j) * stride + kOff;
            let dot = 0;
            for (let d = 0; d < headDim; d++) dot += qkv[qRow + d] * qkv[kRow + d];
            scores[j] = dot * scale;
            if (biasByDistance) scores[j] += biasByDistance[h * (2 * maxDistance + 1) + maxDistance + j - i];
            if (scores[j] > max) max = scores[j];
          }
          let sum = 0;
          for (let j = 0; j < len; j++) {
            scores[j] = Math.exp(scores[j] - max);
            sum += scores[j];
          }
          const pRow = (h * len + i) * len;
          for (let j = 0; j < len; j++) p[pRow + j] = scores[j] / sum;
          const outRow = (start + i) * hidden + h * headDim;
          for (let d = 0; d < headDim; d++) {
            let acc = 0;
            for (let j = 0; j < len; j++) acc += p[pRow + j] * qkv[(start + j) * stride + vOff + d];
            context[outRow + d] = acc;
          }
        }
      }
      if (wantProbs) probs.push(p);
    }
    return wantProbs ? { context, probs } : { context };
  }

  meanPool(x: Float32Array, seqStarts: Int32Array, width: number, out?: Float32Array): Float32Array {
    return meanPoolRows(x, seqStarts, width, out);
  }

  embeddingLayerNorm(tables: EmbeddingTables, ids: Int32Array, typeIds: Int32Array, positionIds: Int32Array, out?: Float32Array): Float32Array {
    return gatherEmbeddingLayerNorm(this, tables, ids, typeIds, positionIds, out);
  }

  firstRowAttention(
    qkv: Float32Array,
    seqStarts: Int32Array,
    numHeads: number,
    headDim: number,
    scale: number,
    positionBias?: PositionBias,
  ): Float32Array {
    const hidden = numHeads * headDim;
    const stride = 3 * hidden;
    const totalRows = seqStarts[seqStarts.length - 1];
    if (qkv.length !== totalRows * stride) throw new Error(`firstRowAttention: expected ${totalRows}x${stride} qkv values but received ${qkv.length}`);
    let maxLen = 0;
    for (let s = 0; s + 1 < seqStarts.length; s++) maxLen = Math.max(maxLen, seqStarts[s + 1] - seqStarts[s]);
    if (positionBias) checkPositionBias(positionBias, numHeads, maxLen);
    const weights = new Float32Array(numHeads * totalRows); // per sequence s: [heads, len] at numHeads * seqStarts[s]
    const scores = new Float64Array(maxLen);
    for (let s = 0; s + 1 < seqStarts.length; s++) {
      const start = seqStarts[s];
      const len = seqStarts[s + 1] - start;
      for (let h = 0; h < numHeads; h++) {
        const qRow = start * stride + h * headDim; // query of the first token (i = 0)
        let max = -Infinity;
        for (let j = 0; j < len; j++) {
          const kRow = (start + j) * stride + hidden + h * headDim;
          let dot = 0;
          for (let d = 0; d < headDim; d++) dot += qkv[qRow + d] * qkv[kRow + d];
          scores[j] = dot * scale;
          if (positionBias) scores[j] += positionBias.table[positionBias.bucketOfDistance[j + positionBias.maxDistance] * numHeads + h];
          if (scores[j] > max) max = scores[j];
        }
        let sum = 0;
        for (let j = 0; j < len; j++) sum += scores[j] = Math.exp(scores[j] - max);
        const o = numHeads * start + h * len;
        for (let j = 0; j < len; j++) weights[o + j] = scores[j] / sum;
      }
    }
    return weights;
  }
}
