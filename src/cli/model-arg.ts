/**
 * How commands name a model: a folder, or a Hugging Face id resolved through BERT_TS_MODELS, the
 * Hugging Face cache, then a download (see io/hub.ts). Commands that embed default to
 * all-MiniLM-L6-v2, the model most users start with.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseDtype } from "../backend/backend.js";
import { ModelNotFoundError, resolveModel, type ResolvedModel } from "../io/hub.js";
import { CliError } from "./io.js";

export const DEFAULT_EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2";

/** The model's folder; a model that cannot be found fails with where it looked and what to do. */
export async function resolveModelArg(name: string | undefined, fallback?: string, options: { tokenizerOnly?: boolean } = {}): Promise<string> {
  const chosen = name ?? fallback;
  if (chosen === undefined) throw new CliError("--model is required (a model folder or a Hugging Face id)");
  return (await resolveModelForCli(chosen, options)).dir;
}

/**
 * resolveModel, with the "looked in" list followed by what the user can do about it: most often
 * they are offline, or the folder they have lacks weights.
 */
export async function resolveModelForCli(name: string, options: { tokenizerOnly?: boolean } = {}): Promise<ResolvedModel> {
  try {
    return await resolveModel(name, { progress: Boolean(process.stderr.isTTY), tokenizerOnly: options.tokenizerOnly });
  } catch (err) {
    if (!(err instanceof ModelNotFoundError)) throw err;
    const offline = err.looked.some((l) => l.result.startsWith("not tried: offline"));
    const first = offline
      ? "run once with network access (unset HF_HUB_OFFLINE) to download it into the Hugging Face cache"
      : "check the name and your network access (a hub id downloads once into the Hugging Face cache)";
    throw new CliError(
      `${err.message}\nTo fix: ${first};\n  or pass --model DIR, a folder with config.json, the tokenizer files and model.safetensors or pytorch_model.bin\n  (with BERT_TS_MODELS=DIR, an id org/name means DIR/org--name).`,
    );
  }
}

/** Test checkpoints carry GENERATED.json: say plainly that their vectors mean nothing. */
export function warnIfRandomWeights(dir: string): void {
  if (existsSync(join(dir, "GENERATED.json"))) {
    process.stderr.write(
      `bert-ts: note: ${dir} holds seeded RANDOM weights (a test checkpoint): the arithmetic is exact, the vectors carry no meaning.\n`,
    );
  }
}

/** --threads: the native backend reads BERT_TS_THREADS when it first loads. */
export function applyThreads(threads: number | undefined): void {
  if (threads !== undefined) process.env.BERT_TS_THREADS = String(threads);
}

export const DTYPE_HELP = "what the linear layers compute in: float32 (default, exact), bf16 or int8 (faster, approximate; native backend)";

/** --dtype: read by getBackend (BERT_TS_DTYPE) when the model loads, in this thread and in server workers. */
export function applyDtype(dtype: string | undefined): void {
  if (dtype === undefined) return;
  try {
    process.env.BERT_TS_DTYPE = parseDtype(dtype, "--dtype");
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}
