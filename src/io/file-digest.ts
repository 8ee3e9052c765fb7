/**
 * sha256 of weight files, for provenance. A file in the Hugging Face cache is a symlink into
 * blobs/<etag>, and an LFS file's etag is its sha256: read it from the name. Anything else is hashed
 * once and remembered by (real path, size, mtime) under the bert-ts cache folder
 * (BERT_TS_CACHE, else $XDG_CACHE_HOME/bert-ts, else ~/.cache/bert-ts), so later runs do not reread
 * the file; an edited file gets a new mtime or size and is hashed again.
 */
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, readFile, realpath, rename, stat, writeFile } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, dirname, join } from "node:path";

export function bertTsCacheDir(): string {
  if (process.env.BERT_TS_CACHE) return process.env.BERT_TS_CACHE;
  return join(process.env.XDG_CACHE_HOME || join(homedir(), ".cache"), "bert-ts");
}

const SHA256 = /^[0-9a-f]{64}$/;

/** The sha256 (hex) of a file's bytes. */
export async function fileSha256(path: string): Promise<string> {
  const real = await realpath(path);
  // HF cache: snapshots/<commit>/<file> → ../../blobs/<sha256> for LFS files.
  if (basename(dirname(real)) === "blobs" && SHA256.test(basename(real))) return basename(real);
  const info = await stat(real);
  const key = createHash("sha256").update(`${real}\0${info.size}\0${info.mtimeMs}`).digest("hex");
  const entry = join(bertTsCacheDir(), "sha256", key);
  try {
    const cached = (await readFile(entry, "utf8")).trim();
    if (SHA256.test(cached)) return cached;
  } catch {
    // not cached yet
  }
  const digest = await hashFile(real);
  try {
    await mkdir(dirname(entry), { recursive: true });
    const tmp = `${entry}.${process.pid}.tmp`;
    await writeFile(tmp, digest + "\n");
    await rename(tmp, entry);
  } catch {
    // A read-only cache only costs a rehash next time.
  }
  return digest;
}

function hashFile(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const hash = createHash("sha256");
    createReadStream(path)
      .on("data", (chunk) => hash.update(chunk))
      .on("error", reject)
      .on("end", () => resolve(hash.digest("hex")));
  });
}

/** The sha256 (hex) of a text's UTF-8 bytes. */
export async function textSha256(text: string): Promise<string> {
  return createHash("sha256").update(text).digest("hex");
}
