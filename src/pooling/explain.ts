/**
 * What a pooling looks at: one number per token of a sequence. For the weighted strategies, the
 * token's weight in the pooled vector (cls_attention: the attention weights; mean: the uniform
 * share; cls/pooler/last: all on one token); for max, how many output dimensions the token wins.
 */
import type { EncoderOutput } from "../models/output.js";
import { LAST_LAYER, type LayerSelection } from "./layers.js";
import { selectTokenVectors } from "./pool.js";
import { clsAttentionWeights, type PoolingStrategy } from "./strategies.js";

export type ExplanationMeasure = "weight" | "dimensions_won";

export interface PoolingExplanation {
  measure: ExplanationMeasure;
  /** One value per token of the sequence, special tokens included. */
  values: number[];
}

/** What explainPooling's values are for a strategy. */
export function explanationMeasure(strategy: PoolingStrategy): ExplanationMeasure {
  return strategy === "max" ? "dimensions_won" : "weight";
}

/** Which token each output dimension's maximum comes from (the first on ties, like torch.max), counted per token. */
function dimensionsWon(tokens: Float32Array, len: number): number[] {
  const width = tokens.length / len;
  const won = new Array<number>(len).fill(0);
  for (let c = 0; c < width; c++) {
    let best = 0;
    for (let t = 1; t < len; t++) if (tokens[t * width + c] > tokens[best * width + c]) best = t;
    won[best]++;
  }
  return won;
}

function oneHot(len: number, at: number): number[] {
  return Array.from({ length: len }, (_, t) => (t === at ? 1 : 0));
}

/** Sequence i of a forward pass made with forwardOptionsFor({ strategy, layers }). */
export function explainPooling(out: EncoderOutput, i: number, strategy: PoolingStrategy, numLayers: number, layers: LayerSelection = LAST_LAYER): PoolingExplanation {
  const len = out.length(i);
  const weights = (values: ArrayLike<number>): PoolingExplanation => ({ measure: "weight", values: Array.from(values) });
  switch (strategy) {
    case "cls_attention":
      return weights(clsAttentionWeights(out.firstTokenAttention(i).data, len));
    case "mean":
      return weights(new Array(len).fill(1 / len));
    case "mean_sqrt_len":
      return weights(new Array(len).fill(1 / Math.sqrt(len)));
    case "weighted_mean":
      return weights(Array.from({ length: len }, (_, t) => (t + 1) / ((len * (len + 1)) / 2)));
    case "cls":
    case "pooler":
      return weights(oneHot(len, 0));
    case "last":
      return weights(oneHot(len, len - 1));
    case "cls_mean":
      // Half the output is the first token's vector, half the mean.
      return weights(Array.from({ length: len }, (_, t) => (t === 0 ? 0.5 : 0) + 0.5 / len));
    case "max":
      return { measure: explanationMeasure(strategy), values: dimensionsWon(selectTokenVectors(out, i, layers, numLayers), len) };
    case "none":
      throw new Error('Pooling "none" keeps every token vector: there is nothing to explain');
  }
}
