/**
 * A model's own default pooling. sentence-transformers folders say it in modules.json
 * (Pooling + Normalize modules) and 1_Pooling/config.json; otherwise BERT's own pooling layer —
 * the pooler, tanh(W·h[CLS]+b) — when the checkpoint has trained pooler weights, else the raw
 * [CLS] vector.
 */
import { readFile } from "node:fs/promises";
import { join } from "node:path";
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

async function readJsonIfExists(file: string): Promise<unknown | undefined> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
  }
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
  const stConfig = (await readJsonIfExists(join(dir, "sentence_bert_config.json"))) as { max_seq_length?: unknown } | undefined;
  const maxSeqLength = typeof stConfig?.max_seq_length === "number" ? stConfig.max_seq_length : undefined;
  const modules = await readJsonIfExists(join(dir, "modules.json"));
  if (Array.isArray(modules)) {
    const list = modules as StModule[];
    const poolingModule = list.find((m) => m.type === "sentence_transformers.models.Pooling");
    const normalize = list.some((m) => m.type === "sentence_transformers.models.Normalize");
    const unsupported = list.filter(
      (m) =>
        m.type !== undefined &&
        !["sentence_transformers.models.Transformer", "sentence_transformers.models.Pooling", "sentence_transformers.models.Normalize"].includes(m.type),
    );
    if (unsupported.length > 0) {
      throw new Error(
        `${join(dir, "modules.json")}: sentence-transformers modules not supported yet: ${unsupported.map((m) => m.type).join(", ")}`,
      );
    }
    if (poolingModule) {
      const file = join(dir, poolingModule.path ?? "1_Pooling", "config.json");
      const cfg = await readJsonIfExists(file);
      if (typeof cfg !== "object" || cfg === null) throw new Error(`${file} is missing (named by modules.json)`);
      const strategy = poolingFromSentenceTransformers(cfg as Record<string, unknown>, file);
      return { strategy, normalize, source: "sentence-transformers modules.json", maxSeqLength };
    }
  }
  if (hasPooler && familyDefault === "pooler") return { strategy: "pooler", normalize: false, source: "BERT pooler (no sentence-transformers config)", maxSeqLength };
  const why = familyDefault === "cls" ? "the model family's default" : "no pooler weights";
  return { strategy: "cls", normalize: false, source: `raw first-token vector (${why}; no sentence-transformers config)`, maxSeqLength };
}
