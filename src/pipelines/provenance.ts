/**
 * Provenance: where a vector or a row of logits came from, compact enough to store beside it.
 * The model part is constant for a loaded model; the input part (tokens, truncated, windows) is per
 * output. Field names are snake_case, as written to JSONL and HTTP. Every field but the model's
 * identity is optional so later features add theirs (a prompt, a reduced-precision dtype, ...)
 * without breaking readers.
 */
import { createHash } from "node:crypto";
import { basename } from "node:path";
import { fileSha256 } from "../io/file-digest.js";
import type { ResolvedModel } from "../io/hub.js";
import { findWeightFiles } from "../io/weights.js";
import type { BertModel } from "../models/bert/model.js";
import type { LayerSelection } from "../pooling/layers.js";
import type { PoolingStrategy } from "../pooling/strategies.js";
import { VERSION } from "../version.js";

export interface Provenance {
  /** The Hugging Face id the model was resolved from, else its folder. */
  model: string;
  /** The hub revision asked for and the commit it resolved to (HF cache / download only). */
  revision?: string;
  commit?: string;
  /**
   * sha256 of the weight file; for a sharded checkpoint, the sha256 of its `sha256sum`-style
   * listing ("<sha256>  <shard name>\n" per shard, sorted by name).
   */
  weights_sha256: string;
  /** config.json's architectures[0], else its model_type. */
  architecture: string;
  /** What the arithmetic ran in, and on which kernels. */
  dtype: string;
  kernels: string;
  bert_ts: string;
  /** Sentence vectors: how token vectors became one vector. */
  pooling?: PoolingStrategy;
  layers?: string;
  normalize?: boolean;
  dimensions?: number;
  /** Per output: tokens of the whole input (special tokens included), whether it was cut, windows averaged. */
  tokens?: number;
  truncated?: boolean;
  windows?: number;
}

/** The constant part of a model's provenance. */
export type ModelProvenance = Pick<Provenance, "model" | "revision" | "commit" | "weights_sha256" | "architecture" | "dtype" | "kernels" | "bert_ts">;

/** The constant part, computed once per model (hashing the weights at most once per file version). */
export async function modelProvenance(resolved: ResolvedModel, model: BertModel): Promise<ModelProvenance> {
  const { files, sharded } = await findWeightFiles(resolved.dir);
  const digests = await Promise.all(files.map((f) => fileSha256(f)));
  const listing = files.map((f, i) => `${digests[i]}  ${basename(f)}\n`).sort((a, b) => a.slice(66).localeCompare(b.slice(66)));
  const weights = sharded ? createHash("sha256").update(listing.join("")).digest("hex") : digests[0];
  return {
    model: resolved.id ?? resolved.dir,
    ...(resolved.revision !== undefined ? { revision: resolved.revision } : {}),
    ...(resolved.commit !== undefined ? { commit: resolved.commit } : {}),
    weights_sha256: weights,
    architecture: model.config.architectures[0] ?? model.config.model_type,
    // Weights of any stored precision are up-cast; the linear layers then compute in the backend's
    // dtype (float32 unless --dtype bf16/int8 asked for VNNI/BF16 kernels).
    dtype: model.backend.dtype,
    kernels: model.backend.name,
    bert_ts: VERSION,
  };
}

/** "last", "first-last-avg", "last4-mean", "-1,-2:concat": the CLI's own spelling of a layer selection. */
export function describeLayers(layers: LayerSelection): string {
  switch (layers.kind) {
    case "last":
      return "last";
    case "first_last_avg":
      return "first-last-avg";
    case "last_k":
      return `last${layers.k}-${layers.combine}`;
    case "indices":
      return `${layers.indices.join(",")}:${layers.combine}`;
  }
}

/** Why two provenances cannot share an index: the first field that differs, or undefined when they can. */
export function provenanceMismatch(a: Partial<Provenance>, b: Partial<Provenance>): string | undefined {
  const keys: (keyof Provenance)[] = ["model", "commit", "weights_sha256", "architecture", "dtype", "pooling", "layers", "normalize", "dimensions"];
  for (const k of keys) {
    if (a[k] !== b[k]) return `${k}: ${JSON.stringify(a[k])} vs ${JSON.stringify(b[k])}`;
  }
  return undefined;
}
