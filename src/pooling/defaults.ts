/**
 * A model's own default pooling. sentence-transformers folders say it in modules.json
 * (Pooling + Normalize modules) and 1_Pooling/config.json; otherwise BERT's own pooling layer —
 * the pooler, tanh(W·h[CLS]+b) — when the checkpoint has trained pooler weights, else the raw
 * [CLS] vector.
 */
import { join } from "node:path";
import { ModelFileError, pathInsideFolder, readModelJsonIfExists } from "../io/model-files.js";
import type { PoolingStrategy } from "./strategies.js";

export interface DefaultPooling {
  strategy: PoolingStrategy;
  normalize: boolean;
  /** Where the choice came from, for `inspect` and the embed output. */
  source: string;
  /** sentence_bert_config.json max_seq_length, when present. */
  maxSeqLength?: number;
}

interface StModule {
  type?: string;
  path?: string;
}

/** modules.json: a list of {type, path} objects, each path inside the model folder. */
function checkModules(json: unknown, dir: string, file: string): StModule[] {
  if (!Array.isArray(json)) throw new ModelFileError(file, `expected a JSON array of modules, got ${json === null ? "null" : typeof json}`);
  return json.map((m: unknown, i) => {
    if (typeof m !== "object" || m === null || Array.isArray(m)) throw new ModelFileError(file, `[${i}] is not an object`, `[${i}]`);
    const { type, path } = m as Record<string, unknown>;
    if (type !== undefined && typeof type !== "string") throw new ModelFileError(file, `[${i}].type must be a string`, `[${i}].type`);
    if (path !== undefined) {
      if (typeof path !== "string") throw new ModelFileError(file, `[${i}].path must be a string`, `[${i}].path`);
      pathInsideFolder(dir, path, file, `[${i}].path`);
    }
    return { type, path };
  });
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

/** Maps sentence-transformers Pooling flags to one of our strategies. */
export function poolingFromSentenceTransformers(cfg: Record<string, unknown>, file: string): PoolingStrategy {
  const modes: Array<[string, PoolingStrategy]> = [
    ["pooling_mode_cls_token", "cls"],
    ["pooling_mode_mean_tokens", "mean"],
    ["pooling_mode_max_tokens", "max"],
    ["pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len"],
    ["pooling_mode_weightedmean_tokens", "weighted_mean"],
    ["pooling_mode_lasttoken", "last"],
  ];
  const on = modes.filter(([key]) => cfg[key] === true).map(([, s]) => s);
  if (on.length === 1) return on[0];
  if (on.length === 2 && on[0] === "cls" && on[1] === "mean") return "cls_mean";
  if (on.length === 0) throw new Error(`${file}: no pooling mode is enabled`);
  throw new Error(`${file}: the combination of pooling modes ${on.join(" + ")} is not supported`);
}

/**
 * hasPooler: the checkpoint has trained pooler weights; familyDefault: the model family's choice
 * when no sentence-transformers config exists ("pooler" for BERT, "cls" for RoBERTa).
 */
export async function readDefaultPooling(dir: string, hasPooler: boolean, familyDefault: "pooler" | "cls" = "pooler"): Promise<DefaultPooling> {
  const stFile = join(dir, "sentence_bert_config.json");
  const maxSeqLength = maxSeqLengthOf(await readModelJsonIfExists(stFile), stFile);
  const modulesFile = join(dir, "modules.json");
  const modulesJson = await readModelJsonIfExists(modulesFile);
  if (modulesJson !== undefined) {
    const list = checkModules(modulesJson, dir, modulesFile);
    const poolingModule = list.find((m) => m.type === "sentence_transformers.models.Pooling");
    const normalize = list.some((m) => m.type === "sentence_transformers.models.Normalize");
    const unsupported = list.filter(
      (m) =>
        m.type !== undefined &&
        !["sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling", "sentence_transformers.models.Normalize"].includes(m.type),
    );
    if (unsupported.length > 0) {
      throw new Error(`${modulesFile}: sentence-transformers modules not supported yet: ${unsupported.map((m) => m.type).join(", ")}`);
    }
    if (poolingModule) {
      const file = join(pathInsideFolder(dir, poolingModule.path ?? "1_Pooling", modulesFile, "path"), "config.json");
      const cfg = await readModelJsonIfExists(file);
      if (cfg === undefined) throw new ModelFileError(file, "file not found (named by modules.json)");
      if (typeof cfg !== "object" || cfg === null || Array.isArray(cfg)) throw new ModelFileError(file, "expected a JSON object");
      const strategy = poolingFromSentenceTransformers(cfg as Record<string, unknown>, file);
      return { strategy, normalize, source: "sentence-transformers modules.json", maxSeqLength };
    }
  }
  if (hasPooler && familyDefault === "pooler") return { strategy: "pooler", normalize: false, source: "BERT pooler (no sentence-transformers config)", maxSeqLength };
  const why = familyDefault === "cls" ? "the model family's default" : "no pooler weights";
  return { strategy: "cls", normalize: false, source: `raw first-token vector (${why}; no sentence-transformers config)`, maxSeqLength };
}
