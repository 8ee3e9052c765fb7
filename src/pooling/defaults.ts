/**
 * A model's own default pooling. sentence-transformers folders say it in modules.json
 * (Pooling, Dense, Normalize modules; see st-modules.ts) and 1_Pooling/config.json; otherwise BERT's own pooling layer —
 * the pooler, tanh(W·h[CLS]+b) — when the checkpoint has trained pooler weights, else the raw
 * [CLS] vector.
 */
import { join } from "../io/host.js";
import { ModelFileError, readModelJsonIfExists } from "../io/model-files.js";
import { readSentenceTransformersModules, type SentenceTransformersModules } from "./st-modules.js";
import type { PoolingStrategy, TokenPooling } from "./strategies.js";

export interface DefaultPooling {
  strategy: PoolingStrategy;
  normalize: boolean;
  /** Where the choice came from, for `inspect` and the embed output. */
  source: string;
  /** sentence_bert_config.json max_seq_length, when present. */
  maxSeqLength?: number;
  /** The sentence-transformers modules after the encoder (Pooling, Dense, Normalize), when the folder has them. */
  modules?: SentenceTransformersModules;
}

/** The strategy naming a Pooling module's modes: the mode itself, cls_mean for [cls, mean], else the first mode. */
function strategyOfModes(modes: readonly TokenPooling[]): PoolingStrategy {
  return modes.length === 2 && modes[0] === "cls" && modes[1] === "mean" ? "cls_mean" : modes[0];
}

/** sentence_bert_config.json's max_seq_length: a positive integer when present. */
function maxSeqLengthOf(json: unknown, file: string): number | undefined {
  if (json === undefined) return undefined;
  if (typeof json !== "object" || json === null || Array.isArray(json)) throw new ModelFileError(file, "expected a JSON object");
  const v = (json as Record<string, unknown>).max_seq_length;
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
    throw new ModelFileError(file, `expected a positive integer for "max_seq_length" but received ${JSON.stringify(v)}`, "max_seq_length");
  }
  return v;
}

/**
 * hasPooler: the checkpoint has trained pooler weights; familyDefault: the model family's choice
 * when no sentence-transformers config exists ("pooler" for BERT, "cls" for RoBERTa).
 */
export async function readDefaultPooling(dir: string, hasPooler: boolean, familyDefault: "pooler" | "cls" = "pooler"): Promise<DefaultPooling> {
  const stFile = join(dir, "sentence_bert_config.json");
  const maxSeqLength = maxSeqLengthOf(await readModelJsonIfExists(stFile), stFile);
  const modules = await readSentenceTransformersModules(dir);
  if (modules) {
    const strategy = strategyOfModes(modules.pooling.modes);
    return { strategy, normalize: modules.normalize, source: `sentence-transformers modules.json: ${modules.description}`, maxSeqLength, modules };
  }
  if (hasPooler && familyDefault === "pooler") return { strategy: "pooler", normalize: false, source: "BERT pooler (no sentence-transformers config)", maxSeqLength };
  const why = familyDefault === "cls" ? "the model family's default" : "no pooler weights";
  return { strategy: "cls", normalize: false, source: `raw first-token vector (${why}; no sentence-transformers config)`, maxSeqLength };
}
