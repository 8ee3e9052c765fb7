/**
 * DistilBERT (modeling_distilbert.py): no token types, no pooler, its own tensor names under
 * "distilbert." (q_lin/k_lin/v_lin/out_lin, sa_layer_norm, ffn.lin1/lin2, output_layer_norm), and
 * DistilBertForSequenceClassification's pre_classifier → ReLU → classifier on the first token.
 */
import { ownLayers, type LayerNames } from "../bert/layer.js";
import type { ModelFamily } from "../registry.js";
import { sinusoidalPositionTable } from "./sinusoidal.js";

const LAYER_NAMES: LayerNames = {
  query: "attention.q_lin",
  key: "attention.k_lin",
  value: "attention.v_lin",
  attentionOutput: "attention.out_lin",
  attentionNorm: "sa_layer_norm",
  intermediate: "ffn.lin1",
  output: "ffn.lin2",
  outputNorm: "output_layer_norm",
};

export const DISTILBERT: ModelFamily = {
  modelType: "distilbert",
  className: "DistilBert",
  basePrefix: "distilbert",
  positionRule: "absolute",
  embeddings: {
    tokenTypes: false,
    fixedPositions: (c) => (c.sinusoidal_pos_embds ? sinusoidalPositionTable(c.max_position_embeddings, c.hidden_size) : undefined),
  },
  layers: ownLayers("transformer.layer", LAYER_NAMES),
  firstTokenName: "[CLS]",
  defaultPooling: "cls",
  sequenceClassifier: { input: "first-token", dense: "pre_classifier", activation: "relu", classifier: "classifier" },
  maskedLM: { dense: "vocab_transform", activation: "hidden_act", norm: "vocab_layer_norm", decoder: "vocab_projector", bias: "vocab_projector.bias" },
};
