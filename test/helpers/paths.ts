/**
 * Where the shared models and golden references live. Defaults to ../shared beside the repository;
 * BERT_TS_MODELS and BERT_TS_GOLDEN override. Tests that need them call requireModels()/requireGolden()
 * and are reported as skipped, with the reason, when the folder is absent — never silently passed.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export const MODELS_DIR = resolve(process.env.BERT_TS_MODELS ?? join(repoRoot, "..", "shared", "models"));
export const GOLDEN_DIR = resolve(process.env.BERT_TS_GOLDEN ?? join(repoRoot, "..", "shared", "golden"));
export const CORPUS_FILE = resolve(
  process.env.BERT_TS_CORPUS ?? join(repoRoot, "..", "shared", "corpus", "license-sentences.txt"),
);
export const REPO_ROOT = repoRoot;

/** In CI the shared folder must be there: a missing one fails instead of skipping. */
const mustExist = process.env.CI === "true" || process.env.BERT_TS_REQUIRE_SHARED === "1";

function skipReason(what: string, path: string): string | false {
  if (existsSync(path)) return false;
  const msg = `${what} not found at ${path} (set ${what === "models" ? "BERT_TS_MODELS" : "BERT_TS_GOLDEN"})`;
  if (mustExist) throw new Error(`${msg}; CI requires ../shared`);
  return msg;
}

/** For node:test's { skip } option: false when the model folder exists, else the reason. */
export function skipUnlessModel(name: string): string | false {
  return skipReason("models", join(MODELS_DIR, name));
}

export function skipUnlessGolden(file: string): string | false {
  return skipReason("golden", join(GOLDEN_DIR, file));
}

export function modelPath(name: string): string {
  return join(MODELS_DIR, name);
}

const goldenCache = new Map<string, any>();
/** Parsed golden JSON (cached per process). */
export function loadGolden(file: string): any {
  let g = goldenCache.get(file);
  if (!g) {
    g = JSON.parse(readFileSync(join(GOLDEN_DIR, file), "utf8"));
    goldenCache.set(file, g);
  }
  return g;
}
