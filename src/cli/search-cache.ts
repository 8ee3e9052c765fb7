/**
 * Corpus vectors cached on disk, so searching the same corpus with the same model and pooling
 * embeds it once. An entry is `<key>.bin` (float32 little-endian, rows × dimension, corpus order)
 * plus `<key>.json` (a manifest, written last: its presence marks a complete entry).
 *
 * key = sha256 of: the model folder's identity (small files by content, weight files by size and
 * mtime — hashing gigabytes on every search would cost more than it saves), the pooling settings,
 * and the corpus file's bytes and field. Anything that could change a vector changes the key.
 *
 * The manifest also stores the vectors' provenance (weights sha256, pooling, ...); an entry whose
 * provenance differs from the encoder's is refused, never mixed with it.
 *
 * Where: `FILE.bert-ts-cache/` beside the corpus; when that folder cannot be written (a read-only
 * corpus), `$XDG_CACHE_HOME/bert-ts/search/<hash of the corpus path>/`; or --cache-dir.
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, join, relative, resolve } from "node:path";
import { provenanceMismatch, type Provenance } from "../pipelines/provenance.js";

/** Bump when the layout or what the key covers changes: old entries then simply miss. */
const CACHE_VERSION = 2;
/** Files up to this size are hashed by content; larger ones (weights) by size and mtime. */
const HASH_LIMIT = 4 * 1024 * 1024;

export interface ModelFileIdentity {
  file: string;
  size: number;
  sha256?: string;
  mtimeMs?: number;
}

/** Every file of a model folder (two levels deep: 1_Pooling/config.json and the like). */
export async function modelIdentity(dir: string): Promise<ModelFileIdentity[]> {
  const out: ModelFileIdentity[] = [];
  async function walk(folder: string, depth: number): Promise<void> {
    const entries = await readdir(folder, { withFileTypes: true });
    for (const e of entries.sort((a, b) => (a.name < b.name ? -1 : 1))) {
      const path = join(folder, e.name);
      // stat() follows symlinks: Hugging Face cache snapshots link to blobs.
      const st = await stat(path).catch(() => undefined);
      if (!st) continue;
      if (st.isDirectory()) {
        if (depth < 1) await walk(path, depth + 1);
      } else if (st.isFile()) {
        const file = relative(dir, path);
        if (st.size <= HASH_LIMIT) out.push({ file, size: st.size, sha256: sha256(await readFile(path)) });
        else out.push({ file, size: st.size, mtimeMs: Math.trunc(st.mtimeMs) });
      }
    }
  }
  await walk(dir, 0);
  return out;
}

export function sha256(data: string | Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

export interface CacheKeyParts {
  model: ModelFileIdentity[];
  /** Everything that decides how a text becomes a vector (strategy, normalise, layers, length). */
  pooling: Record<string, unknown>;
  corpus: { sha256: string; field: string | null; format: string };
}

export function cacheKey(parts: CacheKeyParts): string {
  return sha256(JSON.stringify({ version: CACHE_VERSION, ...parts }));
}

export interface CacheManifest {
  format: "bert-ts-search-cache";
  version: number;
  key: string;
  created: string;
  corpus: { path: string; sha256: string; field: string | null; format: string; entries: number };
  modelDir: string;
  pooling: Record<string, unknown>;
  dimension: number;
  dtype: "float32-le";
  provenance: Provenance;
}

export interface CacheLocation {
  dir: string;
  /** Why this folder (beside the corpus, fallback, or --cache-dir). */
  kind: "beside-corpus" | "user-cache" | "cache-dir";
}

/** Candidate folders in order of preference. */
export function cacheLocations(corpusPath: string, cacheDir?: string, env: NodeJS.ProcessEnv = process.env): CacheLocation[] {
  if (cacheDir !== undefined) return [{ dir: resolve(cacheDir), kind: "cache-dir" }];
  const abs = resolve(corpusPath);
  const userRoot = env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), ".cache");
  return [
    { dir: `${abs}.bert-ts-cache`, kind: "beside-corpus" },
    { dir: join(userRoot, "bert-ts", "search", `${basename(abs)}-${sha256(abs).slice(0, 16)}`), kind: "user-cache" },
  ];
}

function entryPaths(dir: string, key: string): { bin: string; manifest: string } {
  return { bin: join(dir, `${key}.bin`), manifest: join(dir, `${key}.json`) };
}

/**
 * The cached vectors for key, or undefined when absent, incomplete or not matching; onRefused hears
 * of an entry whose provenance differs from the one expected.
 */
export async function readCache(
  locations: readonly CacheLocation[],
  key: string,
  count: number,
  provenance: Provenance,
  onRefused: (path: string, why: string) => void = () => {},
): Promise<{ vectors: Float32Array[]; location: CacheLocation; path: string } | undefined> {
  for (const location of locations) {
    const { bin, manifest } = entryPaths(location.dir, key);
    let meta: CacheManifest;
    let bytes: Buffer;
    try {
      meta = JSON.parse(await readFile(manifest, "utf8")) as CacheManifest;
      bytes = await readFile(bin);
    } catch {
      continue;
    }
    const dim = meta.dimension;
    if (meta.key !== key || meta.version !== CACHE_VERSION || meta.corpus?.entries !== count || !Number.isInteger(dim) || dim <= 0) continue;
    if (bytes.length !== count * dim * 4) continue; // truncated by a crash or a full disk
    const mismatch = provenanceMismatch(meta.provenance ?? {}, provenance);
    if (mismatch !== undefined) {
      onRefused(manifest, mismatch);
      continue;
    }
    // Copy into a fresh, 4-byte aligned buffer (Node may hand back a pooled, unaligned slice).
    const all = new Float32Array(count * dim);
    new Uint8Array(all.buffer).set(bytes);
    const vectors = Array.from({ length: count }, (_, i) => all.subarray(i * dim, (i + 1) * dim));
    return { vectors, location, path: bin };
  }
  return undefined;
}

/**
 * Writes an entry in the first folder that accepts it and removes entries there for older versions
 * of the same corpus file. Returns where it went, or the reasons every folder refused.
 */
export async function writeCache(
  locations: readonly CacheLocation[],
  manifest: CacheManifest,
  vectors: readonly Float32Array[],
): Promise<{ location: CacheLocation; path: string } | { errors: string[] }> {
  const data = Buffer.alloc(vectors.length * manifest.dimension * 4);
  vectors.forEach((v, i) => Buffer.from(v.buffer, v.byteOffset, v.byteLength).copy(data, i * manifest.dimension * 4));
  const errors: string[] = [];
  for (const location of locations) {
    const { bin, manifest: manifestPath } = entryPaths(location.dir, manifest.key);
    const tmp = `.tmp-${process.pid}-${Date.now()}`;
    try {
      await mkdir(location.dir, { recursive: true });
      // Write then rename, data before manifest: a reader never sees a half-written entry.
      await writeFile(bin + tmp, data);
      await rename(bin + tmp, bin);
      await writeFile(manifestPath + tmp, JSON.stringify(manifest, null, 2) + "\n");
      await rename(manifestPath + tmp, manifestPath);
      await pruneStale(location.dir, manifest);
      return { location, path: bin };
    } catch (err) {
      await rm(bin + tmp, { force: true }).catch(() => undefined);
      await rm(manifestPath + tmp, { force: true }).catch(() => undefined);
      errors.push(`${location.dir}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return { errors };
}

/** Entries for the same corpus path but other contents can never hit again: delete them. */
async function pruneStale(dir: string, current: CacheManifest): Promise<void> {
  for (const name of await readdir(dir)) {
    if (!name.endsWith(".json") || name === `${current.key}.json`) continue;
    try {
      const m = JSON.parse(await readFile(join(dir, name), "utf8")) as Partial<CacheManifest>;
      if (m.format !== "bert-ts-search-cache" || m.corpus?.path !== current.corpus.path || m.corpus.sha256 === current.corpus.sha256) continue;
      const key = name.slice(0, -".json".length);
      await rm(join(dir, `${key}.json`), { force: true });
      await rm(join(dir, `${key}.bin`), { force: true });
    } catch {
      // Someone else's or unreadable file: leave it.
    }
  }
}

export function newManifest(
  key: string,
  corpus: CacheManifest["corpus"],
  modelDir: string,
  pooling: Record<string, unknown>,
  dimension: number,
  provenance: Provenance,
): CacheManifest {
  return { format: "bert-ts-search-cache", version: CACHE_VERSION, key, created: new Date().toISOString(), corpus, modelDir, pooling, dimension, dtype: "float32-le", provenance };
}
