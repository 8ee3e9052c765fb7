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

  forward(x: Float32Array, seqStarts: Int32Array, backend: Backend, wantAttentions: boolean): LayerOutput {
    const { hidden_size: h, num_attention_heads: heads, layer_norm_eps: eps } = this.config;
    const rows = x.length / h;
    const headDim = h / heads;
    const qkv = backend.linear(x, rows, this.qkv); // (rows, 3h)
    const att = backend.attention(qkv, seqStarts, heads, headDim, 1 / Math.sqrt(headDim), wantAttentions);
    const projected = backend.linear(att.context, rows, this.attentionOut); // (rows, h)
    const attended = backend.addLayerNorm(projected, x, rows, h, this.attentionNorm.gamma, this.attentionNorm.beta, eps);
    const inner = backend.linear(attended, rows, this.intermediate, this.config.hidden_act); // (rows, ff)
    const out = backend.linear(inner, rows, this.output); // (rows, h)
    const hidden = backend.addLayerNorm(out, attended, rows, h, this.outputNorm.gamma, this.outputNorm.beta, eps);
    return { hidden, attentionProbs: att.probs };
  }
}
