/**
 * Downloads the files a BERT-family model needs from the hub into the Hugging Face cache, in
 * Python's layout. The API's sibling list says which files exist; every file is fetched from the
 * commit the API reported, so a branch that moves mid-download cannot mix two commits.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { isCommitHash, linkIntoSnapshot, markNoExist, snapshotDir, snapshotHas, writeRef } from "./hub-cache.js";
import {
  CONFIG_FILE,
  SENTENCE_TRANSFORMERS_FILES,
  TOKENIZER_CORE_FILES,
  TOKENIZER_FILES,
  isRecord,
  isSafeRelativePath,
  moduleFilesOf,
  pickWeights,
  shardsOfIndex,
} from "./hub-files.js";
import { downloadBlob, getJson, type HttpSettings } from "./hub-http.js";
import { progressBar, type ProgressStream } from "./progress.js";

export interface DownloadTarget {
  id: string;
  revision: string;
  endpoint: string;
  /** `<cache>/models--org--name` */
  repoDir: string;
  http: HttpSettings;
  progress?: ProgressStream;
}

/** The API's URL for a repository at a revision (also shown in "not found" errors). */
export function apiUrl(endpoint: string, id: string, revision: string): string {
  return `${endpoint}/api/models/${encodePath(id)}/revision/${encodeURIComponent(revision)}`;
}

export function resolveUrl(endpoint: string, id: string, revision: string, file: string): string {
  return `${endpoint}/${encodePath(id)}/resolve/${encodeURIComponent(revision)}/${encodePath(file)}`;
}

function encodePath(p: string): string {
  return p.split("/").map(encodeURIComponent).join("/");
}

interface RepoInfo {
  commit: string;
  files: Set<string>;
}

async function repoInfo(t: DownloadTarget): Promise<RepoInfo> {
  const url = apiUrl(t.endpoint, t.id, t.revision);
  const body = await getJson(url, t.http);
  const sha = isRecord(body) ? body.sha : undefined;
  const siblings = isRecord(body) ? body.siblings : undefined;
  if (typeof sha !== "string" || !isCommitHash(sha) || !Array.isArray(siblings)) {
    throw new Error(`${url}: expected JSON with "sha" (a commit hash) and "siblings"`);
  }
  const files = new Set<string>();
  for (const s of siblings) {
    const name = isRecord(s) ? s.rfilename : undefined;
    if (typeof name === "string" && isSafeRelativePath(name)) files.add(name);
  }
  return { commit: sha, files };
}

/** Fetches the model into the cache and returns its snapshot folder and commit. */
export async function downloadModel(t: DownloadTarget): Promise<{ dir: string; commit: string }> {
  const { commit, files } = await repoInfo(t);
  const has = (f: string): boolean => files.has(f);
  const where = `${t.id}@${t.revision}`;
  if (!has(CONFIG_FILE)) throw new Error(`${where} has no ${CONFIG_FILE}; is it a transformers model?`);
  const weights = pickWeights(has);
  if (weights === undefined) {
    throw new Error(`${where} has no model.safetensors or pytorch_model.bin (single or sharded); ONNX/TF/Flax-only repositories are not supported`);
  }
  const dir = snapshotDir(t.repoDir, commit);
  const fetchOne = async (file: string): Promise<void> => {
    if (snapshotHas(t.repoDir, commit, file)) return;
    const out = t.progress;
    const bar = out ? (total: number | undefined) => progressBar(file, total, out) : undefined;
    const { etag } = await downloadBlob(resolveUrl(t.endpoint, t.id, commit, file), t.repoDir, t.http, bar);
    await linkIntoSnapshot(t.repoDir, commit, file, etag);
  };
  const readJson = (file: string): unknown => JSON.parse(readFileSync(join(dir, file), "utf8"));

  const first = [CONFIG_FILE, ...TOKENIZER_FILES, ...SENTENCE_TRANSFORMERS_FILES].filter(has);
  for (const f of first) await fetchOne(f);
  await fetchOne(weights);
  if (weights.endsWith(".index.json")) {
    for (const shard of shardsOfIndex(readJson(weights), weights)) {
      if (!has(shard)) throw new Error(`${where}: ${weights} names ${shard}, which the repository does not have`);
      await fetchOne(shard);
    }
  }
  if (has("modules.json")) {
    for (const f of moduleFilesOf(readJson("modules.json"), has)) if (has(f)) await fetchOne(f);
  }
  // As huggingface_hub does after a 404: later offline checks then know these are absent.
  for (const f of TOKENIZER_CORE_FILES) if (!has(f)) await markNoExist(t.repoDir, commit, f);
  await writeRef(t.repoDir, t.revision, commit);
  return { dir, commit };
}
