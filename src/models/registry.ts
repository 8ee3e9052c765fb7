/**
 * Model families that share the BERT encoder, keyed by config.json's model_type. A family is data
 * and small loaders in its own folder (models/<family>/family.ts), not a branch in the encoder: the
 * prefix its checkpoints use, its embeddings, where its layers' tensors are, its pooler, attention
 * bias and classification head.
 */
import type { Activation, PositionBias } from "../backend/backend.js";
import type { BertConfig } from "../config/bert-config.js";
import type { Checkpoint } from "./checkpoint.js";
import type { EmbeddingSpec, PositionRule } from "./bert/embeddings.js";
import type { LayerLoader } from "./bert/layer.js";
import { ALBERT } from "./albert/family.js";
import { BERT } from "./bert/family.js";
import { DISTILBERT } from "./distilbert/family.js";
import { ELECTRA } from "./electra/family.js";
import { MPNET } from "./mpnet/family.js";
import { ROBERTA } from "./roberta/family.js";
import { CAMEMBERT, XLM_ROBERTA } from "./xlm-roberta/family.js";

/** How a family's *ForSequenceClassification head turns the encoder output into logits. */
export type SequenceClassifierSpec =
  /** classifier(pooler_output): BERT, ALBERT. */
  | { input: "pooler"; classifier: string }
  /** classifier(activation(dense(h_first))), no pooler: RoBERTa (tanh), ELECTRA (gelu), DistilBERT (relu). */
  | { input: "first-token"; dense: string; activation: Activation; classifier: string };

/**
 * A family's *ForMaskedLM head: logits = decoder(LayerNorm(activation(dense(h)))) + bias, the decoder
 * tied to the word embeddings unless the checkpoint stores it. dense maps hidden_size to
 * embedding_size (ELECTRA and ALBERT predict in their narrower embedding space).
 */
export interface MaskedLMSpec {
  dense: string;
  /** "hidden_act": the config's activation (BERT, DistilBERT, ALBERT); else fixed (RoBERTa, ELECTRA: gelu). */
  activation: Activation | "hidden_act";
  norm: string;
  decoder: string;
  bias: string;
}

export interface ModelFamily {
  /** config.json model_type. */
  modelType: string;
  /** transformers' class-name stem ("Bert", "DistilBert"), for messages such as `${className}Model`. */
  className: string;
  /** Prefix of base-model tensors inside task checkpoints ("bert" → "bert.embeddings..."). */
  basePrefix: string;
  positionRule: PositionRule;
  embeddings: EmbeddingSpec;
  /** Loads the layers in the order they run. */
  layers: LayerLoader;
  /** Name of the pooler's dense layer under the base prefix; absent when the architecture has no pooler. */
  pooler?: string;
  /** An attention-score bias built once at load and shared by every layer (MPNet). */
  positionBias?: (ckpt: Checkpoint, config: BertConfig) => PositionBias;
  /** The special first token whose vector the pooler and the "cls" pooling read. */
  firstTokenName: string;
  /**
   * Sentence vector when no sentence-transformers config says otherwise: the trained pooler
   * (tanh(W·h[CLS]+b)), or the raw first-token vector (families trained without a sentence-level pooler).
   */
  defaultPooling: "pooler" | "cls";
  sequenceClassifier: SequenceClassifierSpec;
  maskedLM: MaskedLMSpec;
}

const FAMILIES: Record<string, ModelFamily> = {
  bert: BERT,
  roberta: ROBERTA,
  "xlm-roberta": XLM_ROBERTA,
  camembert: CAMEMBERT,
  distilbert: DISTILBERT,
  electra: ELECTRA,
  albert: ALBERT,
  mpnet: MPNET,
};

export function familyFor(modelType: string): ModelFamily {
  if (!Object.hasOwn(FAMILIES, modelType)) {
    throw new Error(`Unsupported model_type "${modelType}"; supported: ${Object.keys(FAMILIES).join(", ")}`);
  }
  return FAMILIES[modelType];
}
