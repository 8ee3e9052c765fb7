/**
 * The pooling layer: from an encoder output to one vector per sequence (or the token vectors for
 * "none"), with layer selection and optional L2 normalisation.
 */
import type { EncoderOutput } from "../models/output.js";
import { LAST_LAYER, resolveLayers, type LayerSelection } from "./layers.js";
import { l2NormalizeInPlace } from "./similarity.js";
import { TOKEN_POOLINGS, attentionWeightedSum, clsAttentionWeights, type PoolingStrategy } from "./strategies.js";

export interface PoolingOptions {
  strategy: PoolingStrategy;
  /** Default: the last layer. Anything else needs a forward pass with outputHiddenStates. */
  layers?: LayerSelection;
  normalize?: boolean;
}

/** True when the options read layers other than the last, so the forward pass must keep hidden states. */
export function needsHiddenStates(options: PoolingOptions): boolean {
  return options.layers !== undefined && options.layers.kind !== "last";
}

/** True when the forward pass must keep the last layer's first-token attention rows. */
export function needsFirstTokenAttention(options: PoolingOptions): boolean {
  return options.strategy === "cls_attention";
}

/** What a forward pass must keep for these pooling options. */
export function forwardOptionsFor(options: PoolingOptions): { outputHiddenStates: boolean; outputFirstTokenAttention: boolean } {
  return { outputHiddenStates: needsHiddenStates(options), outputFirstTokenAttention: needsFirstTokenAttention(options) };
}

/** Token vectors of sequence i after layer selection: (len, width). */
export function selectTokenVectors(out: EncoderOutput, i: number, layers: LayerSelection, numLayers: number): Float32Array {
  if (layers.kind === "last") return out.sequence(i).data;
  const { indices, combine } = resolveLayers(layers, numLayers);
  const h = out.hiddenSize;
  const len = out.length(i);
  const parts = indices.map((layer) => out.sequence(i, layer).data);
  if (combine === "concat") {
    const width = h * parts.length;
    const res = new Float32Array(len * width);
    for (let t = 0; t < len; t++) parts.forEach((p, j) => res.set(p.subarray(t * h, (t + 1) * h), t * width + j * h));
    return res;
  }
  const res = new Float32Array(len * h);
  for (let k = 0; k < res.length; k++) {
    let s = 0;
    for (const p of parts) s += p[k];
    res[k] = s / parts.length;
  }
  return res;
}

/**
 * One vector per sequence. For "none", each sequence's token vectors flattened (len × width).
 * numLayers: the model's num_hidden_layers (to resolve layer selections).
 */
export function pool(out: EncoderOutput, options: PoolingOptions, numLayers: number): Float32Array[] {
  const layers = options.layers ?? LAST_LAYER;
  const result: Float32Array[] = [];
  for (let i = 0; i < out.batchSize; i++) {
    let v: Float32Array;
    if (options.strategy === "pooler") {
      if (layers.kind !== "last") throw new Error('The "pooler" pooling reads the last layer only');
      v = out.poolerOutput.row(i).slice();
    } else if (options.strategy === "cls_attention") {
      // The weights come from the last layer's attention, so they weigh the last layer's vectors.
      if (layers.kind !== "last") throw new Error('The "cls_attention" pooling reads the last layer only');
      const len = out.length(i);
      v = attentionWeightedSum(out.sequence(i).data, len, out.hiddenSize, clsAttentionWeights(out.firstTokenAttention(i).data, len));
    } else {
      const tokens = selectTokenVectors(out, i, layers, numLayers);
      const width = tokens.length / out.length(i);
      if (options.strategy === "none") {
        v = tokens === out.sequence(i).data ? tokens.slice() : tokens;
        if (options.normalize) for (let t = 0; t < out.length(i); t++) l2NormalizeInPlace(v.subarray(t * width, (t + 1) * width));
        result.push(v);
        continue;
      }
      v = TOKEN_POOLINGS[options.strategy](tokens, out.length(i), width);
    }
    if (options.normalize) l2NormalizeInPlace(v);
    result.push(v);
  }
  return result;
}
