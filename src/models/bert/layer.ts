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
}

/**
 * Intermediate buffers of one forward pass, shared by all its layers: allocating them per layer
 * costs page faults and zero-filling on every call (~10% of a MiniLM forward pass).
 */
export class LayerScratch {
  readonly qkv: Float32Array; // (rows, 3h)
  readonly context: Float32Array; // (rows, h)
  readonly projected: Float32Array; // (rows, h)
  readonly attended: Float32Array; // (rows, h)
  readonly inner: Float32Array; // (rows, ff)
  readonly ffnOut: Float32Array; // (rows, h)

  constructor(rows: number, hidden: number, intermediate: number) {
    this.qkv = new Float32Array(rows * 3 * hidden);
    this.context = new Float32Array(rows * hidden);
    this.projected = new Float32Array(rows * hidden);
    this.attended = new Float32Array(rows * hidden);
    this.inner = new Float32Array(rows * intermediate);
    this.ffnOut = new Float32Array(rows * hidden);
  }
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

    // Fuse the three projections: rows 0..h-1 = query, h..2h-1 = key, 2h..3h-1 = value.
    const qkvWeight = new Float32Array(3 * h * h);
    const qkvBias = new Float32Array(3 * h);
    (["query", "key", "value"] as const).forEach((name, i) => {
      qkvWeight.set(w(`attention.self.${name}.weight`, [h, h]), i * h * h);
      qkvBias.set(w(`attention.self.${name}.bias`, [h]), i * h);
    });
    return new BertLayer(
      config,
      backend.prepareLinear(qkvWeight, qkvBias, 3 * h, h),
      backend.prepareLinear(w("attention.output.dense.weight", [h, h]), w("attention.output.dense.bias", [h]), h, h),
      { gamma: w("attention.output.LayerNorm.weight", [h]), beta: w("attention.output.LayerNorm.bias", [h]) },
      backend.prepareLinear(w("intermediate.dense.weight", [ff, h]), w("intermediate.dense.bias", [ff]), ff, h),
      backend.prepareLinear(w("output.dense.weight", [h, ff]), w("output.dense.bias", [h]), h, ff),
      { gamma: w("output.LayerNorm.weight", [h]), beta: w("output.LayerNorm.bias", [h]) },
    );
  }

  /**
   * x: (rows, hidden). The result is written into `into` when given (it may be x itself: x is last
   * read before the output is written), else into a new array.
   */
  forward(
    x: Float32Array,
    seqStarts: Int32Array,
    backend: Backend,
    wantAttentions: boolean,
    scratch: LayerScratch,
    into?: Float32Array,
  ): LayerOutput {
    const { hidden_size: h, num_attention_heads: heads, layer_norm_eps: eps } = this.config;
    const rows = x.length / h;
    const headDim = h / heads;
    const qkv = backend.linear(x, rows, this.qkv, "none", scratch.qkv); // (rows, 3h)
    const att = backend.attention(qkv, seqStarts, heads, headDim, 1 / Math.sqrt(headDim), wantAttentions, scratch.context);
    const projected = backend.linear(att.context, rows, this.attentionOut, "none", scratch.projected); // (rows, h)
    const attended = backend.addLayerNorm(projected, x, rows, h, this.attentionNorm.gamma, this.attentionNorm.beta, eps, scratch.attended);
    const inner = backend.linear(attended, rows, this.intermediate, this.config.hidden_act, scratch.inner); // (rows, ff)
    const out = backend.linear(inner, rows, this.output, "none", scratch.ffnOut); // (rows, h)
    const hidden = backend.addLayerNorm(out, attended, rows, h, this.outputNorm.gamma, this.outputNorm.beta, eps, into);
    return { hidden, attentionProbs: att.probs };
  }
}
