/**
 * ALBERT (modeling_albert.py): embeddings of embedding_size projected by
 * encoder.embedding_hidden_mapping_in, and num_hidden_groups groups of inner_group_num layers whose
 * weights are shared: layer i runs group i / (num_hidden_layers / num_hidden_groups)
 * (AlbertTransformer). Tensors have no prefix in AlbertModel files, "albert." in task checkpoints.
 */
import { BertLayer, type LayerLoader, type LayerNames } from "../bert/layer.js";
import type { ModelFamily } from "../registry.js";

const LAYER_NAMES: LayerNames = {
  query: "attention.query",
  key: "attention.key",
  value: "attention.value",
  attentionOutput: "attention.dense",
  attentionNorm: "attention.LayerNorm",
  intermediate: "ffn",
  output: "ffn_output",
  outputNorm: "full_layer_layer_norm",
};

const sharedLayerGroups: LayerLoader = (ckpt, config, backend) => {
  const groups = Array.from({ length: config.num_hidden_groups }, (_, g) =>
    Array.from({ length: config.inner_group_num }, (_, k) =>
      BertLayer.load(ckpt, config, `encoder.albert_layer_groups.${g}.albert_layers.${k}.`, LAYER_NAMES, backend),
    ),
  );
  const layersPerGroup = config.num_hidden_layers / config.num_hidden_groups;
  return Array.from({ length: config.num_hidden_layers }, (_, i) => groups[Math.floor(i / layersPerGroup)]);
};

export const ALBERT: ModelFamily = {
  modelType: "albert",
  className: "Albert",
  basePrefix: "albert",
  positionRule: "absolute",
  embeddings: { tokenTypes: true, projection: "encoder.embedding_hidden_mapping_in" },
  layers: sharedLayerGroups,
  pooler: "pooler",
  firstTokenName: "[CLS]",
  defaultPooling: "pooler",
  sequenceClassifier: { input: "pooler", classifier: "classifier" },
  maskedLM: { dense: "predictions.dense", activation: "hidden_act", norm: "predictions.LayerNorm", decoder: "predictions.decoder", bias: "predictions.bias" },
};
