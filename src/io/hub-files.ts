/**
 * Which files of a Hugging Face repository a BERT-family model needs. Pure functions over file
 * names, shared by the downloader (names from the hub's sibling list) and the cache check (names
 * present in a snapshot folder), so both agree on what "complete" means.
 */

export const CONFIG_FILE = "config.json";

/** Tokenizer files, fetched when the repository has them. */
export const TOKENIZER_FILES = [
  "tokenizer.json",
  "vocab.txt",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "vocab.json",
  "merges.txt",
] as const;

/** A model needs at least one of these to tokenize anything. */
export const TOKENIZER_CORE_FILES = ["tokenizer.json", "vocab.txt", "vocab.json"] as const;

/** sentence-transformers files at the repository root, fetched when present. */
export const SENTENCE_TRANSFORMERS_FILES = [
  "modules.json",
  "sentence_bert_config.json",
  "config_sentence_transformers.json",
  "1_Pooling/config.json",
] as const;

/** Weight layouts in order of preference: safetensors first (no pickle), then PyTorch's. */
export const WEIGHT_CHOICES = [
  { single: "model.safetensors", index: "model.safetensors.index.json" },
  { single: "pytorch_model.bin", index: "pytorch_model.bin.index.json" },
] as const;

/** The weight entry point to fetch first: a single file, or an index whose shards come later. */
export function pickWeights(has: (file: string) => boolean): string | undefined {
  for (const w of WEIGHT_CHOICES) {
    if (has(w.single)) return w.single;
    if (has(w.index)) return w.index;
  }
  return undefined;
}

/** Shard file names listed by a `*.index.json` (its `weight_map` values), deduplicated, sorted. */
export function shardsOfIndex(indexJson: unknown, indexName: string): string[] {
  const map = isRecord(indexJson) ? indexJson.weight_map : undefined;
  if (!isRecord(map)) throw new Error(`${indexName} has no "weight_map" object`);
  const shards = new Set<string>();
  for (const [tensor, file] of Object.entries(map)) {
    if (typeof file !== "string" || !isSafeRelativePath(file)) {
      throw new Error(`${indexName}: weight_map["${tensor}"] is not a file name in the repository`);
    }
    shards.add(file);
  }
  return [...shards].sort();
}

/**
 * For each module folder named by sentence-transformers' modules.json: `<path>/config.json`, and
 * the folder's weights when it has some (a Dense layer's), safetensors preferred.
 */
export function moduleFilesOf(modulesJson: unknown, has: (file: string) => boolean): string[] {
  if (!Array.isArray(modulesJson)) throw new Error("modules.json is not a JSON array");
  const out: string[] = [];
  for (const m of modulesJson) {
    const path = isRecord(m) ? m.path : undefined;
    // The Transformer module has path "" (the repository root, whose config.json is the model's).
    if (typeof path !== "string" || path === "" || !isSafeRelativePath(path)) continue;
    out.push(`${path}/config.json`);
    const weights = WEIGHT_CHOICES.map((w) => `${path}/${w.single}`).find(has);
    if (weights) out.push(weights);
  }
  return out;
}

/**
 * Whether a folder has what a model needs: config.json and a complete set of weights, where
 * `readJson` reads an index to check its shards. Returns the missing piece, or undefined.
 */
export function missingForModel(
  has: (file: string) => boolean,
  readJson: (file: string) => unknown,
): string | undefined {
  if (!has(CONFIG_FILE)) return CONFIG_FILE;
  const weights = pickWeights(has);
  if (weights === undefined) return "weights (model.safetensors or pytorch_model.bin, single or sharded)";
  if (weights.endsWith(".index.json")) {
    let shards: string[];
    try {
      shards = shardsOfIndex(readJson(weights), weights);
    } catch {
      return `a readable ${weights}`;
    }
    const missing = shards.find((s) => !has(s));
    if (missing !== undefined) return missing;
  }
  return undefined;
}

/**
 * A relative POSIX path with no `..`, empty or absolute parts: file names from the hub or an index
 * end up joined onto a local folder, so they must not be able to climb out of it.
 */
export function isSafeRelativePath(p: string): boolean {
  if (p === "" || p.startsWith("/") || p.includes("\\") || p.includes("\0")) return false;
  return p.split("/").every((part) => part !== "" && part !== "." && part !== "..");
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
