/**
 * Pooling strategies: one small function each, from a sequence's token vectors (real tokens only,
 * so every strategy is mask-aware by construction) to one vector.
 * Names follow sentence-transformers' Pooling modes where they exist.
 */
import { ownEntry } from "../io/model-files.js";

/**
 * Not here: "pooler" (tanh(W·h[CLS]+b)) has parameters and lives in the model; "cls_attention"
 * needs the last layer's attention as well as the token vectors (attentionWeightedSum below).
 */
export type TokenPooling = "cls" | "mean" | "max" | "mean_sqrt_len" | "cls_mean" | "weighted_mean" | "last";
export type PoolingStrategy = TokenPooling | "pooler" | "cls_attention" | "none";

export const POOLING_STRATEGIES: readonly PoolingStrategy[] = [
  "pooler", "cls", "mean", "max", "mean_sqrt_len", "cls_mean", "weighted_mean", "last", "cls_attention", "none",
];

/** Length of a pooled vector: cls_mean concatenates two hidden-size vectors. */
export function pooledWidth(strategy: PoolingStrategy, hiddenSize: number): number {
  return strategy === "cls_mean" ? 2 * hiddenSize : hiddenSize;
}

/** tokens: (len, hidden) row-major. */
type Pool = (tokens: Float32Array, len: number, hidden: number) => Float32Array;

/** The raw first-token vector: last_hidden_state[:, 0, :]. No parameters. */
const cls: Pool = (t, _len, h) => t.slice(0, h);

/** The last real token (sentence-transformers "lasttoken"). */
const last: Pool = (t, len, h) => t.slice((len - 1) * h, len * h);

function sum(t: Float32Array, len: number, h: number, weight: (i: number) => number = () => 1): Float64Array {
  const acc = new Float64Array(h);
  for (let i = 0; i < len; i++) {
    const w = weight(i);
    const o = i * h;
    for (let c = 0; c < h; c++) acc[c] += w * t[o + c];
  }
  return acc;
}

const mean: Pool = (t, len, h) => Float32Array.from(sum(t, len, h), (v) => v / len);

/** Sum divided by √len (sentence-transformers mean_sqrt_len_tokens). */
const meanSqrtLen: Pool = (t, len, h) => Float32Array.from(sum(t, len, h), (v) => v / Math.sqrt(len));

/** Position-weighted mean: token i (0-based) has weight i+1 (sentence-transformers weightedmean_tokens). */
const weightedMean: Pool = (t, len, h) => {
  const total = (len * (len + 1)) / 2;
  return Float32Array.from(sum(t, len, h, (i) => i + 1), (v) => v / total);
};

const max: Pool = (t, len, h) => {
  const out = t.slice(0, h);
  for (let i = 1; i < len; i++) {
    const o = i * h;
    for (let c = 0; c < h; c++) if (t[o + c] > out[c]) out[c] = t[o + c];
  }
  return out;
};

/** Concatenation [cls ; mean] (2·hidden). */
const clsMean: Pool = (t, len, h) => {
  const out = new Float32Array(2 * h);
  out.set(cls(t, len, h), 0);
  out.set(mean(t, len, h), h);
  return out;
};

/**
 * "cls_attention"'s weights: w_t = mean over heads of the first token's attention to token t.
 * firstRow: (heads, len), each head's row a softmax over the real tokens, so the weights sum to 1.
 */
export function clsAttentionWeights(firstRow: Float32Array, len: number): Float64Array {
  const heads = firstRow.length / len;
  const w = new Float64Array(len);
  for (let h = 0; h < heads; h++) for (let t = 0; t < len; t++) w[t] += firstRow[h * len + t];
  for (let t = 0; t < len; t++) w[t] /= heads;
  return w;
}

/** Σ_t w_t h_t: a mean with input-dependent weights (pooling "cls_attention"). */
export function attentionWeightedSum(t: Float32Array, len: number, h: number, weights: Float64Array): Float32Array {
  return Float32Array.from(sum(t, len, h, (i) => weights[i]));
}

export const TOKEN_POOLINGS: Record<TokenPooling, Pool> = {
  cls,
  mean,
  max,
  mean_sqrt_len: meanSqrtLen,
  cls_mean: clsMean,
  weighted_mean: weightedMean,
  last,
};

export function parsePoolingStrategy(name: string): PoolingStrategy {
  const normalized = name.replace(/-/g, "_");
  const alias: Record<string, PoolingStrategy> = { cls_mean_concat: "cls_mean", weightedmean: "weighted_mean", lasttoken: "last" };
  const s = (ownEntry(alias, normalized) ?? normalized) as PoolingStrategy;
  if (!POOLING_STRATEGIES.includes(s)) {
    throw new Error(`Unknown pooling "${name}"; expected one of: ${POOLING_STRATEGIES.join(", ")}`);
  }
  return s;
}
