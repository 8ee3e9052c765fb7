/**
 * One Transformer encoder layer: BertSelfAttention + BertSelfOutput (modeling_bert.py BertAttention),
 * then BertIntermediate + BertOutput. Q, K and V are fused into one [3·hidden, hidden] projection.
 */
import type { Backend, LinearParams } from "../../backend/backend.js";
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
  private readonly projected: Float32Array; // (rows, h)
  private readonly attended: Float32Array; // (rows, h)
  private readonly inner: Float32Array; // (rows, ff)
  private readonly ffnOut: Float32Array; // (rows, h)

  constructor(
    readonly maxRows: number,
    private readonly hidden: number,
    private readonly intermediate: number,
  ) {
    this.qkv = new Float32Array(maxRows * 3 * hidden);
    this.context = new Float32Array(maxRows * hidden);
    this.projected = new Float32Array(maxRows * hidden);
    this.attended = new Float32Array(maxRows * hidden);
    this.inner = new Float32Array(maxRows * intermediate);
    this.ffnOut = new Float32Array(maxRows * hidden);
  }

  /** The buffers cut to exactly `rows` rows (backends want outputs of the exact length). */
  forRows(rows: number): LayerBuffers {
    if (rows > this.maxRows) throw new Error(`Expected at most ${this.maxRows} rows in a block but received ${rows}`);
    const h = this.hidden;
    return {
      qkv: this.qkv.subarray(0, rows * 3 * h),
      context: this.context.subarray(0, rows * h),
      projected: this.projected.subarray(0, rows * h),
      attended: this.attended.subarray(0, rows * h),
      inner: this.inner.subarray(0, rows * this.intermediate),
      ffnOut: this.ffnOut.subarray(0, rows * h),
    };
  }
}

export interface LayerBuffers {
  qkv: Float32Array;
  context: Float32Array;
  projected: Float32Array;
  attended: Float32Array;
  inner: Float32Array;
  ffnOut: Float32Array;
}

export class BertLayer {
  private constructor(
    private readonly config: BertConfig,
    private readonly qkv: LinearParams,
    private readonly attentionOut: LinearParams,
    private readonly attentionNorm: { gamma: Float32Array; beta: Float32Array },
    private readonly intermediate: LinearParams,
    private readonly output: LinearParams,
    private readonly outputNorm: { gamma: Float32Array; beta: Float32Array },
  ) {}

  static load(ckpt: Checkpoint, config: BertConfig, index: number, backend: Backend): BertLayer {
    const h = config.hidden_size;
    const ff = config.intermediate_size;
    const p = `encoder.layer.${index}.`;
    const w = (name: string, shape: number[]) => ckpt.base(p + name, shape);
    // Weights go to the backend in the checkpoint's precision through a reused buffer; only the
    // backend's packed copy stays.
    const dense = (name: string, out: number, inp: number) =>
      backend.prepareLinear(ckpt.stackedBaseWeights([`${p}${name}.weight`], [out], inp), w(`${name}.bias`, [out]), out, inp);

    // Fuse the three projections: rows 0..h-1 = query, h..2h-1 = key, 2h..3h-1 = value.
    const qkvNames = ["query", "key", "value"].map((n) => `attention.self.${n}`);
    const qkvBias = new Float32Array(3 * h);
    qkvNames.forEach((name, i) => qkvBias.set(w(`${name}.bias`, [h]), i * h));
    const qkvWeight = ckpt.stackedBaseWeights(qkvNames.map((n) => `${p}${n}.weight`), [h, h, h], h);
    return new BertLayer(
      config,
      backend.prepareLinear(qkvWeight, qkvBias, 3 * h, h),
      dense("attention.output.dense", h, h),
      { gamma: w("attention.output.LayerNorm.weight", [h]), beta: w("attention.output.LayerNorm.bias", [h]) },
      dense("intermediate.dense", ff, h),
      dense("output.dense", h, ff),
      { gamma: w("output.LayerNorm.weight", [h]), beta: w("output.LayerNorm.bias", [h]) },
    );
  }

  /**
   * x: (rows, hidden), whole sequences (seqStarts relative to x's first row). The result is written
   * into `into` when given (it may be x itself: x is last read before the output is written), else
   * into a new array. wantFirstRowAttention: also return the first token's attention row per head
   * (for pooling "cls_attention"), without materialising the full matrices.
   */
  forward(
    x: Float32Array,
    seqStarts: Int32Array,
    backend: Backend,
    wantAttentions: boolean,
    scratch: LayerBuffers,
    into?: Float32Array,
    wantFirstRowAttention = false,
  ): LayerOutput {
    const { hidden_size: h, num_attention_heads: heads, layer_norm_eps: eps } = this.config;
    const rows = x.length / h;
    const headDim = h / heads;
    const qkv = backend.linear(x, rows, this.qkv, "none", scratch.qkv); // (rows, 3h)
    const att = backend.attention(qkv, seqStarts, heads, headDim, 1 / Math.sqrt(headDim), wantAttentions, scratch.context);
    const firstRowAttention = wantFirstRowAttention ? backend.firstRowAttention(qkv, seqStarts, heads, headDim, 1 / Math.sqrt(headDim)) : undefined;
    const projected = backend.linear(att.context, rows, this.attentionOut, "none", scratch.projected); // (rows, h)
    const attended = backend.addLayerNorm(projected, x, rows, h, this.attentionNorm.gamma, this.attentionNorm.beta, eps, scratch.attended);
    const inner = backend.linear(attended, rows, this.intermediate, this.config.hidden_act, scratch.inner); // (rows, ff)
    const out = backend.linear(inner, rows, this.output, "none", scratch.ffnOut); // (rows, h)
    const hidden = backend.addLayerNorm(out, attended, rows, h, this.outputNorm.gamma, this.outputNorm.beta, eps, into);
    return { hidden, attentionProbs: att.probs, firstRowAttention };
  }
}
