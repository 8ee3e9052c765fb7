/** BERT (modeling_bert.py): the skeleton the other families vary. */
import type { ModelFamily } from "../registry.js";
import { BERT_LAYER_NAMES, ownLayers } from "./layer.js";

export const BERT: ModelFamily = {
  modelType: "bert",
  className: "Bert",
  basePrefix: "bert",
  positionRule: "absolute",
  embeddings: { tokenTypes: true },
  layers: ownLayers("encoder.layer", BERT_LAYER_NAMES),
  pooler: "pooler.dense",
  firstTokenName: "[CLS]",
  defaultPooling: "pooler",
  sequenceClassifier: { input: "pooler", classifier: "classifier" },
  maskedLM: { dense: "cls.predictions.transform.dense", activation: "hidden_act", norm: "cls.predictions.transform.LayerNorm", decoder: "cls.predictions.decoder", bias: "cls.predictions.bias" },
};
