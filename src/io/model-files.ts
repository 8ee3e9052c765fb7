/**
 * How every file of a model folder is read: only regular files are opened (a FIFO, device or folder
 * named config.json is refused at once instead of blocking or streaming forever), with a size cap,
 * and every path a model file names (modules.json, shard indexes) must stay inside the folder.
 * Symlinks are followed (the Hugging Face cache is made of them) and the file they reach is checked.
 */
import { constants } from "node:fs";
import { open, type FileHandle } from "node:fs/promises";
import { isAbsolute, relative, resolve, sep } from "node:path";

/** Larger than any real config/tokenizer file (tokenizer.json of big vocabularies: ~20 MB). */
export const MAX_TEXT_FILE_BYTES = 256 * 1024 * 1024;

export class ModelFileError extends Error {
  constructor(
    readonly file: string,
    detail: string,
    readonly field?: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = "ModelFileError";
  }
}

function kindOf(stats: { isDirectory(): boolean; isFIFO(): boolean; isSocket(): boolean; isCharacterDevice(): boolean; isBlockDevice(): boolean }): string {
  if (stats.isDirectory()) return "a folder";
  if (stats.isFIFO()) return "a FIFO (named pipe)";
  if (stats.isSocket()) return "a socket";
  if (stats.isCharacterDevice() || stats.isBlockDevice()) return "a device";
  return "not a regular file";
}

/**
 * Opens `file` for reading only if it is a regular file. O_NONBLOCK makes opening a FIFO return at
 * once (a blocking open waits for a writer forever); fstat then refuses it. Null when it does not exist.
 */
export async function openRegularFile(file: string): Promise<{ handle: FileHandle; size: number } | null> {
  let handle: FileHandle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "ENOENT") return null;
    throw new ModelFileError(file, `cannot open: ${code ?? (err as Error).message}`);
  }
  try {
    const stats = await handle.stat();
    if (!stats.isFile()) throw new ModelFileError(file, `is ${kindOf(stats)}; expected a regular file`);
    return { handle, size: stats.size };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** The bytes of a regular file of at most `maxBytes`; null when it does not exist. */
export async function readModelFileIfExists(file: string, maxBytes = MAX_TEXT_FILE_BYTES): Promise<Buffer | null> {
  const opened = await openRegularFile(file);
  if (!opened) return null;
  const { handle, size } = opened;
  try {
    if (size > maxBytes) throw new ModelFileError(file, `is ${size} bytes; expected at most ${maxBytes} for this kind of file`);
    const buf = Buffer.allocUnsafe(size);
    let done = 0;
    while (done < size) {
      const { bytesRead } = await handle.read(buf, done, size - done, done);
      if (bytesRead === 0) break;
      done += bytesRead;
    }
    return done === size ? buf : buf.subarray(0, done);
  } catch (err) {
    if (err instanceof ModelFileError) throw err;
    throw new ModelFileError(file, `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  } finally {
    await handle.close();
  }
}

/** A UTF-8 text file; null when it does not exist. */
export async function readModelTextIfExists(file: string, maxBytes = MAX_TEXT_FILE_BYTES): Promise<string | null> {
  const bytes = await readModelFileIfExists(file, maxBytes);
  return bytes === null ? null : bytes.toString("utf8");
}

/** A UTF-8 text file that must exist. */
export async function readModelText(file: string, maxBytes = MAX_TEXT_FILE_BYTES): Promise<string> {
  const text = await readModelTextIfExists(file, maxBytes);
  if (text === null) throw new ModelFileError(file, "file not found");
  return text;
}

/** A JSON file (any JSON value, null included); undefined when it does not exist. Parse errors name the file. */
export async function readModelJsonIfExists(file: string): Promise<unknown> {
  const text = await readModelTextIfExists(file);
  if (text === null) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new ModelFileError(file, `is not valid JSON: ${(err as Error).message}`);
  }
}

/**
 * The absolute path of `named` (a path a model file gives, relative to the folder) if it stays
 * inside `folder`; otherwise a ModelFileError naming the file and field that named it. The check is
 * on the path as written: "../", absolute paths and NUL bytes are refused.
 */
export function pathInsideFolder(folder: string, named: string, file: string, field: string): string {
  if (named.includes("\0")) throw new ModelFileError(file, `${field} contains a NUL byte`, field);
  const root = resolve(folder);
  const target = resolve(root, named);
  const rel = relative(root, target);
  if (isAbsolute(named) || rel === ".." || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
    throw new ModelFileError(file, `${field} ${JSON.stringify(named)} points outside the model folder; expected a path inside it`, field);
  }
  return target;
}

/** Own-property lookup for tables indexed by a string read from a file ("__proto__", "toString" find nothing). */
export function ownEntry<T>(table: Readonly<Record<string, T>>, key: string): T | undefined {
  return Object.prototype.hasOwnProperty.call(table, key) ? table[key] : undefined;
}
