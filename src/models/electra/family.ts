/**
 * ELECTRA (modeling_electra.py): BERT's encoder under "electra.", embeddings of embedding_size
 * projected to the hidden size by `embeddings_project` after their LayerNorm, no pooler, and
 * ElectraClassificationHead's dense → GELU → out_proj on the first token.
 */
import { BERT_LAYER_NAMES, ownLayers } from "../bert/layer.js";
import type { ModelFamily } from "../registry.js";

export const ELECTRA: ModelFamily = {
  modelType: "electra",
  className: "Electra",
  basePrefix: "electra",
  positionRule: "absolute",
  embeddings: { tokenTypes: true, projection: "embeddings_project" },
  layers: ownLayers("encoder.layer", BERT_LAYER_NAMES),
  firstTokenName: "[CLS]",
  defaultPooling: "cls",
  // get_activation("gelu") whatever hidden_act says: the exact erf GELU.
  sequenceClassifier: { input: "first-token", dense: "classifier.dense", activation: "gelu", classifier: "classifier.out_proj" },
  maskedLM: { dense: "generator_predictions.dense", activation: "gelu", norm: "generator_predictions.LayerNorm", decoder: "generator_lm_head", bias: "generator_lm_head.bias" },
};
