/**
 * How commands name a model: a folder, or a Hugging Face id resolved through BERT_TS_MODELS, the
 * Hugging Face cache, then a download (see io/hub.ts). Commands that embed default to
 * all-MiniLM-L6-v2, the model most users start with.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { resolveModel } from "../io/hub.js";

export const DEFAULT_EMBEDDING_MODEL = "sentence-transformers/all-MiniLM-L6-v2";

export async function resolveModelArg(name: string | undefined, fallback?: string): Promise<string> {
  const chosen = name ?? fallback;
  if (chosen === undefined) throw new Error("--model is required (a model folder or a Hugging Face id)");
  const { dir } = await resolveModel(chosen, { progress: Boolean(process.stderr.isTTY) });
  return dir;
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
