/**
 * RoBERTa (modeling_roberta.py): BERT's encoder with positions counted from pad_token_id + 1 and a
 * classification head on the first token instead of the pooler (RobertaClassificationHead).
 */
import { BERT_LAYER_NAMES, ownLayers } from "../bert/layer.js";
import type { ModelFamily } from "../registry.js";

export const ROBERTA: ModelFamily = {
  modelType: "roberta",
  className: "Roberta",
  basePrefix: "roberta",
  positionRule: "roberta",
  embeddings: { tokenTypes: true },
  layers: ownLayers("encoder.layer", BERT_LAYER_NAMES),
  pooler: "pooler.dense",
  firstTokenName: "<s>",
  // RoBERTa dropped next-sentence prediction, so its pooler was never trained for sentences.
  defaultPooling: "cls",
  sequenceClassifier: { input: "first-token", dense: "classifier.dense", activation: "tanh", classifier: "classifier.out_proj" },
  maskedLM: { dense: "lm_head.dense", activation: "gelu", norm: "lm_head.layer_norm", decoder: "lm_head.decoder", bias: "lm_head.bias" },
};
