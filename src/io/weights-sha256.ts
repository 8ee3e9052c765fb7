/**
 * The sha256 of a model's weight files: the identity of the numbers a vector came from. Hashing a
 * large file takes a while, so results are cached by (real path, size, mtime) in a small JSON file
 * under the user's cache folder; a changed file gets a new entry. Files in a Hugging Face cache
 * snapshot are links to blobs named by their sha256, which is read from the name for free.
 */
import { createHash } from "node:crypto";
import { createReadStream, readdirSync, readFileSync, realpathSync, statSync } from "node:fs";
import { mkdir, rename, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, dirname, join } from "node:path";

const WEIGHT_FILE = /^(model(-\d+-of-\d+)?\.safetensors|pytorch_model(-\d+-of-\d+)?\.bin)$/;

function cachePath(env: NodeJS.ProcessEnv = process.env): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "bert-ts", "weights-sha256.json");
}

async function fileSha256(path: string): Promise<string> {
  const hash = createHash("sha256");
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest("hex");
}

/** The weight files of a model folder, in name order (shards in order). */
export function weightFiles(dir: string): string[] {
  return readdirSync(dir).filter((f) => WEIGHT_FILE.test(f)).sort();
}

function readCache(path: string): Record<string, string> {
  try {
    const parsed = JSON.parse(readFileSync(path, "utf8")) as unknown;
    return typeof parsed === "object" && parsed !== null && !Array.isArray(parsed) ? (parsed as Record<string, string>) : {};
  } catch {
    return {};
  }
}

/**
 * sha256 of the model's weights: of its one weight file, or of the shards' hashes joined in order
 * (so a sharded model has one identity too).
 */
export async function weightsSha256(dir: string): Promise<string> {
  const files = weightFiles(dir);
  if (files.length === 0) throw new Error(`${dir} has no weight files (model.safetensors or pytorch_model.bin) to identify`);
  const path = cachePath();
  const cache = readCache(path);
  let changed = false;
  const hashes: string[] = [];
  for (const f of files) {
    const real = realpathSync(join(dir, f));
    const blob = basename(real);
    if (/^[0-9a-f]{64}$/.test(blob) && basename(dirname(real)) === "blobs") {
      hashes.push(blob);
      continue;
    }
    const st = statSync(real);
    const key = `${real}|${st.size}|${Math.trunc(st.mtimeMs)}`;
    let sha = Object.hasOwn(cache, key) ? cache[key] : undefined;
    if (typeof sha !== "string" || !/^[0-9a-f]{64}$/.test(sha)) {
      sha = await fileSha256(real);
      cache[key] = sha;
      changed = true;
    }
    hashes.push(sha);
  }
  if (changed) {
    // Best effort: a cache that cannot be written only costs a re-hash next time.
    try {
      await mkdir(dirname(path), { recursive: true });
      const tmp = `${path}.${process.pid}.tmp`;
      await writeFile(tmp, JSON.stringify(cache));
      await rename(tmp, path);
    } catch {
      /* not fatal */
    }
  }
  return hashes.length === 1 ? hashes[0] : createHash("sha256").update(hashes.join("\n")).digest("hex");
}
