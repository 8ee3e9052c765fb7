/**
 * What a sentence-transformers folder puts after the encoder (modules.json, in order):
 * Pooling (one or several modes, concatenated in sentence-transformers' order; `include_prompt`),
 * Dense layers (`2_Dense/config.json` + weights, with an activation), and Normalize. Any other
 * module type is refused by name: running a model without one of its layers gives wrong vectors.
 * Also config_sentence_transformers.json's prompts.
 */
import { join } from "../io/host.js";
import { ModelFileError, pathInsideFolder, readModelJsonIfExists } from "../io/model-files.js";
import { loadWeights } from "../io/weights.js";
import { TOKEN_POOLINGS, type TokenPooling } from "./strategies.js";

const TRANSFORMER = "sentence_transformers.models.Transformer";
const POOLING = "sentence_transformers.models.Pooling";
const DENSE = "sentence_transformers.models.Dense";
const NORMALIZE = "sentence_transformers.models.Normalize";

/** Pooling config flags in the order sentence-transformers' Pooling.forward concatenates them. */
const MODE_FLAGS: ReadonlyArray<readonly [string, TokenPooling]> = [
  ["pooling_mode_cls_token", "cls"],
  ["pooling_mode_max_tokens", "max"],
  ["pooling_mode_mean_tokens", "mean"],
  ["pooling_mode_mean_sqrt_len_tokens", "mean_sqrt_len"],
  ["pooling_mode_weightedmean_tokens", "weighted_mean"],
  ["pooling_mode_lasttoken", "last"],
];

/** Dense activations (torch class paths as sentence-transformers saves them). */
const DENSE_ACTIVATIONS: Record<string, (x: number) => number> = {
  "torch.nn.modules.activation.Tanh": Math.tanh,
  "torch.nn.modules.linear.Identity": (x) => x,
  "torch.nn.modules.activation.ReLU": (x) => Math.max(0, x),
  "torch.nn.modules.activation.Sigmoid": (x) => 1 / (1 + Math.exp(-x)),
};

export interface PoolingModule {
  /** One or more modes, in concatenation order. */
  modes: TokenPooling[];
  /** false: prompt tokens (and the first token) are left out of the pooled tokens. */
  includePrompt: boolean;
}

export interface DenseModule {
  inFeatures: number;
  outFeatures: number;
  /** [out, in] row-major. */
  weight: Float32Array;
  bias: Float32Array | null;
  activationName: string;
  activation: (x: number) => number;
}

export interface SentenceTransformersModules {
  pooling: PoolingModule;
  dense: DenseModule[];
  normalize: boolean;
  /** e.g. "Pooling(max+mean) → Dense(384→128, Tanh) → Normalize", for the CLI and inspect. */
  description: string;
}

/**
 * A JSON file's content, or undefined when the file does not exist. Only a regular file is read (a
 * FIFO or a link to /dev/zero named modules.json is refused, not waited on), with a size cap.
 */
export function readJsonIfExists(file: string): Promise<unknown> {
  return readModelJsonIfExists(file);
}

/** A module's `path` in modules.json: a string (sentence-transformers joins it to the folder), or absent. */
function modulePath(m: { path?: unknown }, i: number, file: string): string {
  if (m.path === undefined || m.path === null) return "";
  if (typeof m.path !== "string") throw new ModelFileError(file, `[${i}].path is ${JSON.stringify(m.path)}; expected a folder name (a string)`, `[${i}].path`);
  return m.path;
}

/** The Pooling module's modes (sentence-transformers order) and include_prompt. */
export function readPoolingConfig(cfg: Record<string, unknown>, file: string): PoolingModule {
  const modes = MODE_FLAGS.filter(([key]) => cfg[key] === true).map(([, mode]) => mode);
  if (modes.length === 0) {
    const named = typeof cfg.pooling_mode === "string" ? ` (pooling_mode "${cfg.pooling_mode}")` : "";
    throw new Error(`${file}: no pooling mode bert-ts knows is enabled${named}`);
  }
  return { modes, includePrompt: cfg.include_prompt !== false };
}

async function readDense(dir: string, path: string): Promise<DenseModule> {
  const folder = pathInsideFolder(dir, path, join(dir, "modules.json"), "path");
  const file = join(folder, "config.json");
  const cfg = (await readJsonIfExists(file)) as Record<string, unknown> | undefined;
  if (!cfg) throw new Error(`${file} is missing (named by modules.json)`);
  const inFeatures = cfg.in_features;
  const outFeatures = cfg.out_features;
  if (!Number.isInteger(inFeatures) || !Number.isInteger(outFeatures)) throw new Error(`${file}: expected integer in_features and out_features`);
  const activationName = typeof cfg.activation_function === "string" ? cfg.activation_function : "torch.nn.modules.activation.Tanh";
  if (!Object.hasOwn(DENSE_ACTIVATIONS, activationName)) {
    throw new Error(`${file}: unsupported Dense activation "${activationName}"; supported: ${Object.keys(DENSE_ACTIVATIONS).join(", ")}`);
  }
  const store = await loadWeights(folder);
  try {
    const w = store.get("linear.weight");
    if (!w || w.shape.join() !== `${outFeatures},${inFeatures}`) {
      throw new Error(`${folder}: expected linear.weight [${outFeatures}, ${inFeatures}], found ${w ? `[${w.shape.join(", ")}]` : "none"}`);
    }
    const wantBias = cfg.bias !== false;
    const b = store.get("linear.bias");
    if (wantBias && (!b || b.shape.join() !== String(outFeatures))) throw new Error(`${folder}: expected linear.bias [${outFeatures}]`);
    return {
      inFeatures: inFeatures as number,
      outFeatures: outFeatures as number,
      weight: w.float32(),
      bias: wantBias && b ? b.float32() : null,
      activationName,
      activation: DENSE_ACTIVATIONS[activationName],
    };
  } finally {
    store.close();
  }
}

/**
 * The modules after the Transformer in modules.json, or undefined when the folder has no
 * modules.json (or one without a Pooling module).
 */
export async function readSentenceTransformersModules(dir: string): Promise<SentenceTransformersModules | undefined> {
  const list = await readJsonIfExists(join(dir, "modules.json"));
  if (list === undefined) return undefined;
  if (!Array.isArray(list)) throw new Error(`${join(dir, "modules.json")}: expected a list of modules`);
  let pooling: PoolingModule | undefined;
  const dense: DenseModule[] = [];
  let normalize = false;
  const parts: string[] = [];
  for (const [i, m] of (list as { type?: unknown; path?: unknown }[]).entries()) {
    if (typeof m !== "object" || m === null || Array.isArray(m)) throw new ModelFileError(join(dir, "modules.json"), `[${i}] is not an object`, `[${i}]`);
    const type = typeof m.type === "string" ? m.type : String(m.type);
    const path = modulePath(m, i, join(dir, "modules.json"));
    if (type === TRANSFORMER) continue;
    if (type === POOLING) {
      const file = join(pathInsideFolder(dir, path || "1_Pooling", join(dir, "modules.json"), "path"), "config.json");
      const cfg = await readJsonIfExists(file);
      if (typeof cfg !== "object" || cfg === null) throw new Error(`${file} is missing (named by modules.json)`);
      pooling = readPoolingConfig(cfg as Record<string, unknown>, file);
      parts.push(`Pooling(${pooling.modes.join("+")}${pooling.includePrompt ? "" : ", prompt excluded"})`);
    } else if (type === DENSE) {
      const layer = await readDense(dir, path);
      dense.push(layer);
      parts.push(`Dense(${layer.inFeatures}→${layer.outFeatures}, ${layer.activationName.split(".").pop()})`);
    } else if (type === NORMALIZE) {
      normalize = true;
      parts.push("Normalize");
    } else {
      const hint = type.includes(".sparse_encoder.") ? "; a SPLADE model: use SparseEncoder or --pooling splade" : "";
      throw new Error(`${join(dir, "modules.json")}: sentence-transformers module ${type} is not supported (bert-ts runs Transformer, Pooling, Dense, Normalize)${hint}`);
    }
  }
  if (!pooling) return undefined;
  return { pooling, dense, normalize, description: parts.join(" → ") };
}

/** The size of the vectors the modules give, from token vectors of `width`. */
export function modulesDimension(modules: SentenceTransformersModules, width: number): number {
  return modules.dense.at(-1)?.outFeatures ?? modules.pooling.modes.length * width;
}

/** y = activation(W·x + b), accumulated in float64. */
export function applyDense(layer: DenseModule, x: Float32Array): Float32Array {
  if (x.length !== layer.inFeatures) throw new Error(`Dense layer expects ${layer.inFeatures} inputs but the vector has ${x.length}`);
  const y = new Float32Array(layer.outFeatures);
  for (let o = 0; o < layer.outFeatures; o++) {
    let s = layer.bias ? layer.bias[o] : 0;
    const row = o * layer.inFeatures;
    for (let i = 0; i < layer.inFeatures; i++) s += layer.weight[row + i] * x[i];
    y[o] = layer.activation(s);
  }
  return y;
}

export interface Prompts {
  prompts: Record<string, string>;
  defaultPromptName: string | null;
}

/** config_sentence_transformers.json's prompts and default_prompt_name (none when absent). */
export async function readPrompts(dir: string): Promise<Prompts> {
  const file = join(dir, "config_sentence_transformers.json");
  const cfg = ((await readJsonIfExists(file)) ?? {}) as { prompts?: unknown; default_prompt_name?: unknown };
  const prompts: Record<string, string> = {};
  if (cfg.prompts !== undefined && cfg.prompts !== null) {
    if (typeof cfg.prompts !== "object" || Array.isArray(cfg.prompts)) throw new Error(`${file}: prompts must be an object of name → text`);
    for (const [name, text] of Object.entries(cfg.prompts)) {
      if (typeof text !== "string") throw new Error(`${file}: prompt "${name}" is not a string`);
      prompts[name] = text;
    }
  }
  const def = cfg.default_prompt_name ?? null;
  if (def !== null && (typeof def !== "string" || !Object.hasOwn(prompts, def))) {
    throw new Error(`${file}: default_prompt_name ${JSON.stringify(def)} is not one of the prompts (${Object.keys(prompts).join(", ") || "none"})`);
  }
  return { prompts, defaultPromptName: def };
}

/**
 * The Pooling module on one sequence's token vectors (len, h): each mode, concatenated. Without
 * include_prompt, the first promptLength tokens are masked as sentence-transformers masks them:
 * left out of max/mean/mean_sqrt_len/weighted_mean (whose weights stay the absolute positions), while
 * cls and last read their token regardless.
 */
export function poolModes(tokens: Float32Array, len: number, h: number, pooling: PoolingModule, promptLength: number): Float32Array {
  const skip = pooling.includePrompt ? 0 : Math.min(promptLength, len);
  const out = new Float32Array(pooling.modes.length * h);
  pooling.modes.forEach((mode, k) => out.set(poolOneMode(mode, tokens, len, h, skip), k * h));
  return out;
}

function poolOneMode(mode: TokenPooling, t: Float32Array, len: number, h: number, skip: number): Float32Array {
  if (skip === 0 || mode === "cls" || mode === "last") return TOKEN_POOLINGS[mode](t, len, h);
  const n = len - skip;
  // Everything masked: sentence-transformers' clamped division gives 0, its max fill -1e9.
  if (n === 0) return new Float32Array(h).fill(mode === "max" ? -1e9 : 0);
  if (mode !== "weighted_mean") return TOKEN_POOLINGS[mode](t.subarray(skip * h), n, h);
  const acc = new Float64Array(h);
  let total = 0;
  for (let i = skip; i < len; i++) {
    total += i + 1;
    for (let c = 0; c < h; c++) acc[c] += (i + 1) * t[i * h + c];
  }
  return Float32Array.from(acc, (v) => v / total);
}

export interface PromptOptions {
  /**
   * Text put before every input (its tokens count toward the length limit), as sentence-transformers'
   * `prompt`; or promptName, a key of the model's config_sentence_transformers.json prompts.
   * Default: the config's default_prompt_name, if any.
   */
  prompt?: string;
  promptName?: string;
}

/** The prompt text the options ask for ("" for none), as sentence-transformers' encode() resolves it. */
export function resolvePrompt(prompts: Prompts, options: PromptOptions): string {
  if (options.prompt !== undefined && options.promptName !== undefined) throw new Error("Give either a prompt or a promptName, not both");
  if (options.prompt !== undefined) {
    if (typeof options.prompt !== "string") throw new TypeError(`Expected a string for prompt but received ${typeof options.prompt}`);
    return options.prompt;
  }
  const name = options.promptName ?? prompts.defaultPromptName;
  if (name === null) return "";
  if (!Object.hasOwn(prompts.prompts, name)) {
    const known = Object.keys(prompts.prompts);
    throw new Error(`Unknown prompt name "${name}": ${known.length > 0 ? `the model's prompts are ${known.join(", ")}` : "the model defines no prompts"} (config_sentence_transformers.json)`);
  }
  return prompts.prompts[name];
}
