/**
 * MPNet (modeling_mpnet.py): RoBERTa-style positions (from pad_token_id + 1), no token types, its own
 * attention names (attention.attn.q/k/v/o) and a relative position bias on the attention scores,
 * shared by all layers. MPNetClassificationHead is RoBERTa's (dense → tanh → out_proj on <s>).
 */
import { ownLayers, type LayerNames } from "../bert/layer.js";
import type { ModelFamily } from "../registry.js";
import { loadRelativeAttentionBias } from "./position-bias.js";

const LAYER_NAMES: LayerNames = {
  query: "attention.attn.q",
  key: "attention.attn.k",
  value: "attention.attn.v",
  attentionOutput: "attention.attn.o",
  attentionNorm: "attention.LayerNorm",
  intermediate: "intermediate.dense",
  output: "output.dense",
  outputNorm: "output.LayerNorm",
};

export const MPNET: ModelFamily = {
  modelType: "mpnet",
  className: "MPNet",
  basePrefix: "mpnet",
  positionRule: "roberta",
  embeddings: { tokenTypes: false },
  layers: ownLayers("encoder.layer", LAYER_NAMES),
  pooler: "pooler.dense",
  positionBias: loadRelativeAttentionBias,
  firstTokenName: "<s>",
  defaultPooling: "cls",
  sequenceClassifier: { input: "first-token", dense: "classifier.dense", activation: "tanh", classifier: "classifier.out_proj" },
  maskedLM: { dense: "lm_head.dense", activation: "gelu", norm: "lm_head.layer_norm", decoder: "lm_head.decoder", bias: "lm_head.bias" },
};
