/**
 * Model families that share the BERT encoder, keyed by config.json's model_type. A family is data,
 * not a branch in the encoder: the prefix its checkpoints use and how it numbers positions.
 */
import type { PositionRule } from "./bert/embeddings.js";
import { ownEntry } from "../io/model-files.js";

export interface ModelFamily {
  /** config.json model_type. */
  modelType: string;
  /** Prefix of base-model tensors inside task checkpoints ("bert" → "bert.embeddings..."). */
  basePrefix: string;
  positionRule: PositionRule;
  /** The special first token whose vector the pooler and the "cls" pooling read. */
  firstTokenName: string;
  /**
   * Sentence vector when no sentence-transformers config says otherwise: BERT's trained pooler
   * (tanh(W·h[CLS]+b)), or the raw first-token vector (RoBERTa, which dropped NSP).
   */
  defaultPooling: "pooler" | "cls";
}

const FAMILIES: Record<string, ModelFamily> = {
  bert: { modelType: "bert", basePrefix: "bert", positionRule: "absolute", firstTokenName: "[CLS]", defaultPooling: "pooler" },
  roberta: { modelType: "roberta", basePrefix: "roberta", positionRule: "roberta", firstTokenName: "<s>", defaultPooling: "cls" },
};

export function familyFor(modelType: string): ModelFamily {
  const family = ownEntry(FAMILIES, modelType); // "__proto__" or "toString" must not find anything
  if (!family) {
    throw new Error(`Unsupported model_type "${modelType}"; supported: ${Object.keys(FAMILIES).join(", ")}`);
  }
  return family;
}
