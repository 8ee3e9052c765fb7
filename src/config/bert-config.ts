/**
 * BertConfig: config.json's keys one for one (snake_case, as Hugging Face writes them), with
 * bert-base defaults and validation that names the field at fault. RoBERTa uses the same keys
 * (its differences are values: pad_token_id for positions, one token type, eps 1e-5); the other
 * encoder families add a few keys (ELECTRA/ALBERT embedding_size, ALBERT layer groups, MPNet
 * buckets, DistilBERT sinusoidal positions) and DistilBERT renames some (FIELD_NAMES below).
 * Mirrors transformers/models/bert/configuration_bert.py.
 */
import type { Activation } from "../backend/backend.js";

export type HiddenAct = Extract<Activation, "gelu" | "gelu_new" | "gelu_pytorch_tanh" | "relu">;
export const SUPPORTED_ACTIVATIONS: readonly HiddenAct[] = ["gelu", "gelu_new", "gelu_pytorch_tanh", "relu"];

export interface BertConfig {
  model_type: string;
  architectures: string[];
  vocab_size: number;
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads: number;
  intermediate_size: number;
  hidden_act: HiddenAct;
  max_position_embeddings: number;
  type_vocab_size: number;
  layer_norm_eps: number;
  pad_token_id: number;
  position_embedding_type: "absolute";
  /** Width of the embedding tables; ELECTRA and ALBERT project it to hidden_size. Default hidden_size. */
  embedding_size: number;
  /** ALBERT: layer groups (each group's weights shared by num_hidden_layers / num_hidden_groups layers). */
  num_hidden_groups: number;
  /** ALBERT: layers in each group, run one after the other at each of its steps. */
  inner_group_num: number;
  /** MPNet: buckets of the relative attention bias. */
  relative_attention_num_buckets: number;
  /** DistilBERT: position embeddings are the fixed sin/cos table (when the checkpoint does not store them). */
  sinusoidal_pos_embds: boolean;
  /** Classification heads. */
  id2label: Record<number, string>;
  label2id: Record<string, number>;
  problem_type: "single_label_classification" | "multi_label_classification" | "regression" | null;
  /** Keys present in the file that bert-ts does not use (training-only settings and the like). */
  unused_keys: string[];
}

/** Keys BERT/RoBERTa configs carry that do not change inference (dropout, init, generation...). */
const KNOWN_IGNORED = new Set([
  "_name_or_path", "transformers_version", "torch_dtype", "gradient_checkpointing", "use_cache",
  "hidden_dropout_prob", "attention_probs_dropout_prob", "classifier_dropout", "initializer_range",
  "bos_token_id", "eos_token_id", "sep_token_id", "cls_token_id", "output_past", "tokenizer_class",
  "finetuning_task", "chunk_size_feed_forward", "is_decoder", "add_cross_attention", "return_dict",
  "output_hidden_states", "output_attentions", "torchscript", "use_bfloat16", "pruned_heads",
  "tie_word_embeddings", "is_encoder_decoder", "directionality", "pooler_fc_size", "pooler_num_attention_heads",
  "pooler_num_fc_layers", "pooler_size_per_head", "pooler_type", "layer_norm_eps",
  // DistilBERT, ELECTRA, ALBERT training settings
  "dropout", "attention_dropout", "qa_dropout", "seq_classif_dropout", "tie_weights_", "classifier_dropout_prob",
  "summary_type", "summary_use_proj", "summary_activation", "summary_last_dropout",
]);

/**
 * config.json keys a model type spells differently (transformers' attribute_map, e.g.
 * configuration_distilbert.py): field → the key its files use. Errors name the file's key.
 */
const FIELD_NAMES: Record<string, Partial<Record<keyof BertConfig, string>>> = {
  distilbert: { hidden_size: "dim", num_hidden_layers: "n_layers", num_attention_heads: "n_heads", intermediate_size: "hidden_dim", hidden_act: "activation" },
};

export class ConfigError extends Error {
  constructor(message: string, readonly field?: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/**
 * An integer field within [min, max]. The upper bounds are far above any real model and keep an
 * absurd value (num_hidden_layers: 1e20) from reaching an allocation as "Invalid array length".
 */
function int(raw: Record<string, unknown>, key: string, fallback: number, source: string, min = 1, max = 1 << 24): number {
  const v = Object.hasOwn(raw, key) && raw[key] !== null ? raw[key] : fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(`${source}: expected an integer from ${min} to ${max} for "${key}" but received ${JSON.stringify(v)}`, key);
  }
  return v;
}

/** Parses and validates a config.json object. `source` names the file in error messages. */
export function parseBertConfig(raw: unknown, source = "config.json"): BertConfig {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ConfigError(`${source}: expected a JSON object`);
  }
  const r = raw as Record<string, unknown>;
  const modelType = r.model_type ?? "bert";
  if (typeof modelType !== "string") throw new ConfigError(`${source}: "model_type" must be a string`, "model_type");
  const names = Object.hasOwn(FIELD_NAMES, modelType) ? FIELD_NAMES[modelType] : {};
  /** The file's key for a field (DistilBERT: "dim" for hidden_size). */
  const key = (field: keyof BertConfig): string => names[field] ?? field;

  const hiddenAct = r[key("hidden_act")] ?? "gelu";
  if (typeof hiddenAct !== "string" || !(SUPPORTED_ACTIVATIONS as readonly string[]).includes(hiddenAct)) {
    throw new ConfigError(
      `${source}: unsupported ${key("hidden_act")} ${JSON.stringify(hiddenAct)}; supported: ${SUPPORTED_ACTIVATIONS.join(", ")}`,
      key("hidden_act"),
    );
  }
  const positionType = r.position_embedding_type ?? "absolute";
  if (positionType !== "absolute") {
    throw new ConfigError(
      `${source}: position_embedding_type ${JSON.stringify(positionType)} is not supported (only "absolute")`,
      "position_embedding_type",
    );
  }
  const hidden = int(r, key("hidden_size"), 768, source, 1, 1 << 16);
  const heads = int(r, key("num_attention_heads"), 12, source, 1, 1 << 12);
  if (hidden % heads !== 0) {
    throw new ConfigError(
      `${source}: ${key("hidden_size")} ${hidden} is not a multiple of ${key("num_attention_heads")} ${heads}`,
      key("num_attention_heads"),
    );
  }
  const layers = int(r, key("num_hidden_layers"), 12, source, 1, 1000);
  const groups = int(r, "num_hidden_groups", 1, source, 1, 1000);
  if (layers % groups !== 0) {
    // modeling_albert.py AlbertTransformer gives layer i to group i / (layers / groups).
    throw new ConfigError(`${source}: num_hidden_layers ${layers} is not a multiple of num_hidden_groups ${groups}`, "num_hidden_groups");
  }
  const sinusoidal = r.sinusoidal_pos_embds ?? false;
  if (typeof sinusoidal !== "boolean") {
    throw new ConfigError(`${source}: expected true or false for "sinusoidal_pos_embds" but received ${JSON.stringify(sinusoidal)}`, "sinusoidal_pos_embds");
  }
  const eps = r.layer_norm_eps ?? 1e-12;
  if (typeof eps !== "number" || !(eps > 0) || eps > 1) {
    throw new ConfigError(`${source}: expected a small positive number for "layer_norm_eps" but received ${JSON.stringify(eps)}`);
  }
  const archs = r.architectures ?? [];
  if (!Array.isArray(archs) || !archs.every((a) => typeof a === "string")) {
    throw new ConfigError(`${source}: "architectures" must be a list of strings`, "architectures");
  }

  const id2label: Record<number, string> = {};
  if (r.id2label !== undefined) {
    if (typeof r.id2label !== "object" || r.id2label === null) throw new ConfigError(`${source}: "id2label" must be an object`);
    for (const [k, v] of Object.entries(r.id2label as Record<string, unknown>)) {
      if (!/^\d+$/.test(k) || typeof v !== "string") throw new ConfigError(`${source}: bad id2label entry ${k}: ${JSON.stringify(v)}`);
      id2label[Number(k)] = v;
    }
  }
  // fromEntries defines own properties, so a label "__proto__" is a label, not a prototype.
  const label2id: Record<string, number> = Object.fromEntries(Object.entries(id2label).map(([id, label]) => [label, Number(id)]));

  const problemType = r.problem_type ?? null;
  if (
    problemType !== null &&
    problemType !== "single_label_classification" &&
    problemType !== "multi_label_classification" &&
    problemType !== "regression"
  ) {
    throw new ConfigError(`${source}: unknown problem_type ${JSON.stringify(problemType)}`, "problem_type");
  }

  const known = new Set([
    "model_type", "architectures", "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads",
    "intermediate_size", "hidden_act", "max_position_embeddings", "type_vocab_size", "layer_norm_eps",
    "pad_token_id", "position_embedding_type", "id2label", "label2id", "problem_type", "embedding_size",
    "num_hidden_groups", "inner_group_num", "relative_attention_num_buckets", "sinusoidal_pos_embds",
    ...Object.values(names),
  ]);
  const unused = Object.keys(r).filter((k) => !known.has(k) && !KNOWN_IGNORED.has(k));

  return {
    model_type: modelType,
    architectures: archs as string[],
    vocab_size: int(r, "vocab_size", 30522, source),
    hidden_size: hidden,
    num_hidden_layers: layers,
    num_attention_heads: heads,
    intermediate_size: int(r, key("intermediate_size"), 3072, source, 1, 1 << 20),
    hidden_act: hiddenAct as HiddenAct,
    max_position_embeddings: int(r, "max_position_embeddings", 512, source, 1, 1 << 20),
    type_vocab_size: int(r, "type_vocab_size", 2, source, 1, 1 << 16),
    layer_norm_eps: eps,
    pad_token_id: int(r, "pad_token_id", 0, source, 0),
    position_embedding_type: "absolute",
    embedding_size: int(r, "embedding_size", hidden, source, 1, 1 << 16),
    num_hidden_groups: groups,
    inner_group_num: int(r, "inner_group_num", 1, source, 1, 1000),
    // modeling_mpnet.py relative_position_bucket halves it twice: fewer than 4 leaves no exact bucket.
    relative_attention_num_buckets: int(r, "relative_attention_num_buckets", 32, source, 4, 1 << 12),
    sinusoidal_pos_embds: sinusoidal,
    id2label,
    label2id,
    problem_type: problemType,
    unused_keys: unused,
  };
}
