/**
 * How every file of a model folder is read: only regular files are opened (a FIFO, device or folder
 * named config.json is refused at once instead of blocking or streaming forever), with a size cap,
 * and every path a model file names (modules.json, shard indexes) must stay inside the folder.
 * Symlinks are followed (the Hugging Face cache is made of them) and the file they reach is checked.
 */
import { ModelFileError } from "./errors.js";
import { isAbsolute, readRegularFile, relative, resolve, sep } from "./host.js";

export { ModelFileError } from "./errors.js";

/** Larger than any real config/tokenizer file (tokenizer.json of big vocabularies: ~20 MB). */
export const MAX_TEXT_FILE_BYTES = 256 * 1024 * 1024;

/** The bytes of a regular file of at most `maxBytes`; null when it does not exist. */
export async function readModelFileIfExists(file: string, maxBytes = MAX_TEXT_FILE_BYTES): Promise<Uint8Array | null> {
  return readRegularFile(file, maxBytes);
}

/** UTF-8 as Buffer.toString reads it: invalid bytes become U+FFFD and a leading BOM is kept. */
const utf8 = new TextDecoder("utf-8", { ignoreBOM: true });

/** A UTF-8 text file; null when it does not exist. */
export async function readModelTextIfExists(file: string, maxBytes = MAX_TEXT_FILE_BYTES): Promise<string | null> {
  const bytes = await readModelFileIfExists(file, maxBytes);
  return bytes === null ? null : utf8.decode(bytes);
}

/** A UTF-8 text file that must exist. */
export async function readModelText(file: string, maxBytes = MAX_TEXT_FILE_BYTES): Promise<string> {
  const text = await readModelTextIfExists(file, maxBytes);
  if (text === null) throw new ModelFileError(file, "file not found");
  return text;
}

/** A JSON object read from `file` (tokenizer and config files): anything else is an error naming the file. */
export function parseJsonObject(text: string, file: string): object {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`Malformed JSON in ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`Malformed ${file}: expected a JSON object`);
  return value;
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
