/**
 * The Hugging Face hub cache, in the layout Python's huggingface_hub uses, so models downloaded
 * by either side are reused by the other:
 *
 *   <cache>/models--org--name/
 *     refs/<revision>                 text file holding the commit hash the revision pointed to
 *     blobs/<etag>                    file contents, named by the hub's etag (sha256 for LFS files)
 *     snapshots/<commit>/<file>       relative symlinks into ../../blobs/<etag>
 *     .no_exist/<commit>/<file>       empty marker: the file is known not to exist at that commit
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { copyFile, mkdir, readFile, rename, rm, symlink, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { randomBytes } from "node:crypto";
import { TOKENIZER_CORE_FILES, isSafeRelativePath, missingForModel } from "./hub-files.js";

export function repoFolderName(id: string): string {
  return `models--${id.split("/").join("--")}`;
}

export function isCommitHash(revision: string): boolean {
  return /^[0-9a-f]{40}$/.test(revision);
}

/** The commit a revision names in this cache, or undefined when the cache has no ref for it. */
export function readRef(repoDir: string, revision: string): string | undefined {
  if (isCommitHash(revision)) return revision;
  if (!isSafeRelativePath(revision)) return undefined;
  try {
    const commit = readFileSync(join(repoDir, "refs", revision), "utf8").trim();
    return isCommitHash(commit) ? commit : undefined;
  } catch {
    return undefined;
  }
}

export function snapshotDir(repoDir: string, commit: string): string {
  return join(repoDir, "snapshots", commit);
}

function noExistPath(repoDir: string, commit: string, file: string): string {
  return join(repoDir, ".no_exist", commit, file);
}

/** True when the snapshot has the file (a symlink counts only if its blob is there too). */
export function snapshotHas(repoDir: string, commit: string, file: string): boolean {
  try {
    return statSync(join(snapshotDir(repoDir, commit), file)).isFile();
  } catch {
    return false;
  }
}

/**
 * What a cached snapshot lacks to be used as a model, or undefined when it is usable.
 * `strict` also wants a tokenizer (present, or recorded as absent from the repository): online,
 * a snapshot that Python filled for a model alone is completed by a download rather than trusted.
 */
export function snapshotMissing(repoDir: string, commit: string, strict: boolean): string | undefined {
  const dir = snapshotDir(repoDir, commit);
  const has = (f: string): boolean => snapshotHas(repoDir, commit, f);
  const missing = missingForModel(has, (f) => JSON.parse(readFileSync(join(dir, f), "utf8")) as unknown);
  if (missing !== undefined || !strict) return missing;
  const tokenizerKnown = TOKENIZER_CORE_FILES.some((f) => has(f)) ||
    TOKENIZER_CORE_FILES.every((f) => existsSync(noExistPath(repoDir, commit, f)));
  return tokenizerKnown ? undefined : "tokenizer files (tokenizer.json, vocab.txt or vocab.json)";
}

export function blobPath(repoDir: string, etag: string): string {
  return join(repoDir, "blobs", etag);
}

/** A name beside `target` that no other process will pick, for write-then-rename. */
export function tempBeside(target: string, suffix: string): string {
  return `${target}.${process.pid}-${randomBytes(4).toString("hex")}${suffix}`;
}

/**
 * Points snapshots/<commit>/<file> at blobs/<etag> with a relative symlink, as Python does.
 * The link is made under a temporary name and renamed into place, so a reader never sees a
 * half-made entry. Where symlinks are not allowed (Windows without developer mode) the blob is
 * copied instead, as huggingface_hub also falls back to.
 */
export async function linkIntoSnapshot(repoDir: string, commit: string, file: string, etag: string): Promise<void> {
  const dest = join(snapshotDir(repoDir, commit), file);
  const blob = blobPath(repoDir, etag);
  await mkdir(dirname(dest), { recursive: true });
  const tmp = tempBeside(dest, ".tmp");
  try {
    await symlink(relative(dirname(dest), blob), tmp);
  } catch (err) {
    if (!isErrno(err, "EPERM")) throw err;
    await copyFile(blob, tmp);
  }
  try {
    await rename(tmp, dest);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** Records that `revision` resolved to `commit` (no file for a commit hash, which names itself). */
export async function writeRef(repoDir: string, revision: string, commit: string): Promise<void> {
  if (isCommitHash(revision)) return;
  const path = join(repoDir, "refs", revision);
  await mkdir(dirname(path), { recursive: true });
  // Skip the write when nothing changes, so the cache can sit on a read-mostly disk.
  const current = await readFile(path, "utf8").catch(() => undefined);
  if (current === commit) return;
  const tmp = tempBeside(path, ".tmp");
  await writeFile(tmp, commit);
  await rename(tmp, path);
}

/** Records that `file` does not exist at `commit`, so later offline checks need not ask. */
export async function markNoExist(repoDir: string, commit: string, file: string): Promise<void> {
  const path = noExistPath(repoDir, commit, file);
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, "");
}

export function isErrno(err: unknown, code: string): boolean {
  return err instanceof Error && "code" in err && err.code === code;
}
