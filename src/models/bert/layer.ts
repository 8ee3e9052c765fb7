/**
 * One Transformer encoder layer: BertSelfAttention + BertSelfOutput (modeling_bert.py BertAttention),
 * then BertIntermediate + BertOutput. Q, K and V are fused into one [3·hidden, hidden] projection.
 * DistilBERT, ALBERT and MPNet run the same arithmetic under other tensor names (LayerNames).
 */
import type { Backend, LayerNormParams, LinearParams, PositionBias } from "../../backend/backend.js";
import type { BertConfig } from "../../config/bert-config.js";
import type { Checkpoint } from "../checkpoint.js";

export interface LayerOutput {
  hidden: Float32Array; // (rows, hidden)
  attentionProbs?: Float32Array[]; // per sequence (heads, len, len)
  /** When requested: the first token's attention row per head, per sequence (heads, len), concatenated. */
  firstRowAttention?: Float32Array;
}

/**
 * Intermediate buffers of one forward pass, shared by all its layers and row blocks: allocating them
 * per layer costs page faults and zero-filling on every call (~10% of a MiniLM forward pass), and
 * sizing them for a block of rows rather than the whole batch keeps peak memory flat in batch size.
 */
export class LayerScratch {
  private readonly qkv: Float32Array; // (rows, 3h)
  private readonly context: Float32Array; // (rows, h)
  private readonly attended: Float32Array; // (rows, h)
  private readonly inner: Float32Array; // (rows, ff)

  constructor(
    readonly maxRows: number,
    private readonly hidden: number,
    private readonly intermediate: number,
    /** Where the buffers come from (the backend's floatArray: aligned for its kernels). */
    allocate: (length: number) => Float32Array = (length) => new Float32Array(length),
  ) {
    // One allocation cut into four (each part a whole number of 64-byte lines, so every part starts
    // on one when the whole does): the native backend puts large buffers on 2 MB pages, and four
    // separate ones would each round up to their own.
    const lengths = [maxRows * 3 * hidden, maxRows * hidden, maxRows * hidden, maxRows * intermediate];
    const lines = lengths.map((n) => Math.ceil(n / 16) * 16);
    const all = allocate(lines.reduce((a, n) => a + n, 0));
    const parts: Float32Array[] = [];
    let at = 0;
    lengths.forEach((n, i) => {
      parts.push(all.subarray(at, at + n));
      at += lines[i];
    });
    [this.qkv, this.context, this.attended, this.inner] = parts;
  }

  /** The buffers cut to exactly `rows` rows (backends want outputs of the exact length). */
  forRows(rows: number): LayerBuffers {
    if (rows > this.maxRows) throw new Error(`Expected at most ${this.maxRows} rows in a block but received ${rows}`);
    const h = this.hidden;
    return {
      qkv: this.qkv.subarray(0, rows * 3 * h),
      context: this.context.subarray(0, rows * h),
      attended: this.attended.subarray(0, rows * h),
      inner: this.inner.subarray(0, rows * this.intermediate),
    };
  }
}

export interface LayerBuffers {
  qkv: Float32Array;
  context: Float32Array;
  attended: Float32Array;
  inner: Float32Array;
}

/** Where a layer's tensors sit inside its checkpoint prefix (weights as `${name}.weight`/`.bias`). */
export interface LayerNames {
  query: string;
  key: string;
  value: string;
  /** Dense layer after attention; its output + the layer input go through attentionNorm. */
  attentionOutput: string;
  attentionNorm: string;
  /** Feed-forward: hidden → intermediate (with hidden_act) → hidden, then outputNorm with the residual. */
  intermediate: string;
  output: string;
  outputNorm: string;
}

/** modeling_bert.py BertLayer (also RoBERTa, XLM-R, ELECTRA). */
export const BERT_LAYER_NAMES: LayerNames = {
  query: "attention.self.query",
  key: "attention.self.key",
  value: "attention.self.value",
  attentionOutput: "attention.output.dense",
  attentionNorm: "attention.output.LayerNorm",
  intermediate: "intermediate.dense",
  output: "output.dense",
  outputNorm: "output.LayerNorm",
};

/**
 * The layers an encoder runs, in order, grouped in steps: hidden_states gets one entry after each
 * step. A layer object may appear in several steps (ALBERT shares its weights across layers).
 */
export type LayerSteps = readonly (readonly BertLayer[])[];

export type LayerLoader = (ckpt: Checkpoint, config: BertConfig, backend: Backend) => LayerSteps;

/** num_hidden_layers layers of their own, the i-th under `${stem}.${i}.` (BERT: "encoder.layer"). */
export function ownLayers(stem: string, names: LayerNames): LayerLoader {
  return (ckpt, config, backend) =>
    Array.from({ length: config.num_hidden_layers }, (_, i) => [BertLayer.load(ckpt, config, `${stem}.${i}.`, names, backend)]);
}

export class BertLayer {
  private constructor(
    private readonly config: BertConfig,
    private readonly qkv: LinearParams,
    private readonly attentionOut: LinearParams,
    private readonly attentionNorm: LayerNormParams,
    private readonly intermediate: LinearParams,
    private readonly output: LinearParams,
    private readonly outputNorm: LayerNormParams,
  ) {}

  /** prefix: the layer's tensor-name prefix under the base model, e.g. "encoder.layer.3.". */
  static load(ckpt: Checkpoint, config: BertConfig, prefix: string, names: LayerNames, backend: Backend): BertLayer {
    const h = config.hidden_size;
    const ff = config.intermediate_size;
    const p = prefix;
    const w = (name: string, shape: number[]) => ckpt.base(p + name, shape);
    // Weights go to the backend in the checkpoint's precision through a reused buffer; only the
    // backend's packed copy stays.
    const dense = (name: string, out: number, inp: number) =>
      backend.prepareLinear(ckpt.stackedBaseWeights([`${p}${name}.weight`], [out], inp), w(`${name}.bias`, [out]), out, inp);

    // Fuse the three projections: rows 0..h-1 = query, h..2h-1 = key, 2h..3h-1 = value.
    const qkvNames = [names.query, names.key, names.value];
    const qkvBias = new Float32Array(3 * h);
    qkvNames.forEach((name, i) => qkvBias.set(w(`${name}.bias`, [h]), i * h));
    const qkvWeight = ckpt.stackedBaseWeights(qkvNames.map((n) => `${p}${n}.weight`), [h, h, h], h);
    return new BertLayer(
      config,
      backend.prepareLinear(qkvWeight, qkvBias, 3 * h, h),
      dense(names.attentionOutput, h, h),
      { gamma: w(`${names.attentionNorm}.weight`, [h]), beta: w(`${names.attentionNorm}.bias`, [h]), eps: config.layer_norm_eps },
      dense(names.intermediate, ff, h),
      dense(names.output, h, ff),
      { gamma: w(`${names.outputNorm}.weight`, [h]), beta: w(`${names.outputNorm}.bias`, [h]), eps: config.layer_norm_eps },
    );
  }

  /**
   * x: (rows, hidden), whole sequences (seqStarts relative to x's first row). The result is written
   * into `into` when given (it may be x itself: x is last read before the output is written), else
   * into a new array. positionBias: added to the attention scores (MPNet), shared by all layers.
   * wantFirstRowAttention: also return the first token's attention row per head (for pooling
   * "cls_attention"), without materialising the full matrices.
   */
  forward(
    x: Float32Array,
    seqStarts: Int32Array,
    backend: Backend,
    wantAttentions: boolean,
    scratch: LayerBuffers,
    into?: Float32Array,
    positionBias?: PositionBias,
    wantFirstRowAttention = false,
  ): LayerOutput {
    const { hidden_size: h, num_attention_heads: heads } = this.config;
    const rows = x.length / h;
    const headDim = h / heads;
    const qkv = backend.linear(x, rows, this.qkv, "none", scratch.qkv); // (rows, 3h)
    const att = backend.attention(qkv, seqStarts, heads, headDim, 1 / Math.sqrt(headDim), wantAttentions, scratch.context, positionBias);
    const firstRowAttention = wantFirstRowAttention ? backend.firstRowAttention(qkv, seqStarts, heads, headDim, 1 / Math.sqrt(headDim), positionBias) : undefined;
    // Output projections with their residual + LayerNorm (fused where the backend can).
    const attended = backend.linearAddLayerNorm(att.context, rows, this.attentionOut, x, this.attentionNorm, scratch.attended);
    const inner = backend.linear(attended, rows, this.intermediate, this.config.hidden_act, scratch.inner); // (rows, ff)
    const hidden = backend.linearAddLayerNorm(inner, rows, this.output, attended, this.outputNorm, into);
    return { hidden, attentionProbs: att.probs, firstRowAttention };
  }
}
