/**
 * The browser's stand-in for src/io/host.ts (the bundle swaps one for the other; same exports).
 * There is no file system: a model's files are fetched, or taken from File/ArrayBuffer objects, by
 * model-source.ts and mounted here under a root that names where they came from (the base URL, or
 * `files://folder-name`), so paths and error messages read as on Node: `https://…/config.json: …`.
 * Paths are POSIX-style after an optional `scheme://host` prefix.
 */
import { ModelFileError, WeightFileError } from "../io/errors.js";
import { defaultBackendReady } from "./backend.js";

export type FileKind = "file" | "folder" | "other";

/** Mounted folders: root (no trailing slash) → path inside it → bytes. */
const mounts = new Map<string, ReadonlyMap<string, Uint8Array>>();
/** Roots mounted with the tokenizer's files only (a later model load fetches the rest). */
const tokenizerOnlyRoots = new Set<string>();

export function mountFolder(root: string, files: ReadonlyMap<string, Uint8Array>, tokenizerOnly = false): string {
  const key = resolve(root);
  mounts.set(key, files);
  if (tokenizerOnly) tokenizerOnlyRoots.add(key);
  else tokenizerOnlyRoots.delete(key);
  return key;
}

export function unmountFolder(root: string): void {
  mounts.delete(resolve(root));
}

/** `location` as a mounted folder holding what `needs` asks for, else null. */
export function mountedFolder(location: string, needs: "tokenizer" | "model"): string | null {
  if (lookup(location) !== "folder") return null;
  const root = resolve(location);
  return needs === "model" && tokenizerOnlyRoots.has(root) ? null : root;
}

// ---- paths ---------------------------------------------------------------------------------------

export const sep = "/";
const SCHEME_HOST = /^[a-zA-Z][a-zA-Z0-9+.-]*:\/\/[^/]*/;

function splitPrefix(path: string): [string, string] {
  const m = SCHEME_HOST.exec(path);
  return m ? [m[0], path.slice(m[0].length)] : ["", path];
}

function normalizeRest(rest: string, absolute: boolean): string {
  const out: string[] = [];
  for (const part of rest.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
      else if (!absolute) out.push("..");
      continue;
    }
    out.push(part);
  }
  const joined = out.join("/");
  return absolute ? `/${joined}` : joined || ".";
}

function normalize(path: string): string {
  const [prefix, rest] = splitPrefix(path);
  if (prefix) {
    const n = normalizeRest(rest, true);
    return n === "/" ? prefix : prefix + n;
  }
  return normalizeRest(rest, rest.startsWith("/"));
}

export function isAbsolute(path: string): boolean {
  return path.startsWith("/") || SCHEME_HOST.test(path);
}

export function join(...parts: string[]): string {
  const nonEmpty = parts.filter((p) => p !== "");
  return nonEmpty.length === 0 ? "." : normalize(nonEmpty.join("/"));
}

export function resolve(...parts: string[]): string {
  let start = 0;
  for (let i = parts.length - 1; i >= 0; i--) {
    if (isAbsolute(parts[i])) {
      start = i;
      break;
    }
  }
  const joined = join(...parts.slice(start));
  return isAbsolute(joined) ? joined : normalize(`/${joined}`);
}

export function relative(from: string, to: string): string {
  const [fromPrefix, fromRest] = splitPrefix(resolve(from));
  const [toPrefix, toRest] = splitPrefix(resolve(to));
  if (fromPrefix !== toPrefix) return resolve(to);
  const a = fromRest.split("/").filter(Boolean);
  const b = toRest.split("/").filter(Boolean);
  let common = 0;
  while (common < a.length && common < b.length && a[common] === b[common]) common++;
  return [...Array(a.length - common).fill(".."), ...b.slice(common)].join("/");
}

export function basename(path: string): string {
  const [, rest] = splitPrefix(normalize(path));
  return rest.slice(rest.lastIndexOf("/") + 1);
}

export function dirname(path: string): string {
  const n = normalize(path);
  const [prefix, rest] = splitPrefix(n);
  const cut = rest.lastIndexOf("/");
  if (cut <= 0) return prefix || (rest.startsWith("/") ? "/" : ".");
  return prefix + rest.slice(0, cut);
}

/** A base URL not mounted yet is downloaded (tokenizer files only) and mounted; a mounted root stays as it is. */
export async function openModelFolder(location: string, needs: "tokenizer" | "model" = "tokenizer"): Promise<string> {
  // A model load also settles the default backend (the WASM kernels load asynchronously).
  if (needs === "model") await defaultBackendReady();
  const mounted = mountedFolder(location, needs);
  if (mounted !== null) return mounted;
  const { mountModel } = await import("./model-source.js");
  return (await mountModel(location, { tokenizerOnly: needs === "tokenizer" })).root;
}

// ---- files ---------------------------------------------------------------------------------------

/** The mounted file at `path`, "folder" for a mount root or a folder inside one, or null. */
function lookup(path: string): Uint8Array | "folder" | null {
  const target = resolve(path);
  for (const [root, files] of mounts) {
    if (target === root) return "folder";
    if (!target.startsWith(`${root}/`)) continue;
    const inside = target.slice(root.length + 1);
    const bytes = files.get(inside);
    if (bytes) return bytes;
    for (const name of files.keys()) if (name.startsWith(`${inside}/`)) return "folder";
  }
  return null;
}

function notFound(path: string): Error {
  return Object.assign(new Error(`ENOENT: no such file, open '${path}' (not among the model files given)`), { code: "ENOENT" });
}

function bytesOf(path: string): Uint8Array {
  const found = lookup(path);
  if (found === null) throw notFound(path);
  if (found === "folder") throw Object.assign(new Error(`EISDIR: is a folder, read '${path}'`), { code: "EISDIR" });
  return found;
}

export async function fileKind(path: string): Promise<FileKind | null> {
  const found = lookup(path);
  return found === null ? null : found === "folder" ? "folder" : "file";
}

export function fileExists(path: string): boolean {
  return lookup(path) !== null;
}

export async function readTextFile(path: string): Promise<string> {
  return new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytesOf(path));
}

export async function readBinaryFile(path: string): Promise<Uint8Array> {
  return bytesOf(path);
}

/** Lets the page (or worker) handle events between batches: a macrotask, as setImmediate is on Node. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

export function emitWarning(message: string, options: { type: string; code: string }): void {
  console.warn(`${options.type} [${options.code}]: ${message}`);
}

export async function readRegularFile(file: string, maxBytes: number): Promise<Uint8Array | null> {
  const found = lookup(file);
  if (found === null) return null;
  if (found === "folder") throw new ModelFileError(file, "is a folder; expected a regular file");
  if (found.length > maxBytes) throw new ModelFileError(file, `is ${found.length} bytes; expected at most ${maxBytes} for this kind of file`);
  return found;
}

/** A weight file held in memory, read by range (safetensors tensors are copied out one at a time). */
export class OpenWeightFile {
  readonly size: number;
  private bytes: Uint8Array | undefined;

  private constructor(readonly file: string, bytes: Uint8Array) {
    this.bytes = bytes;
    this.size = bytes.length;
  }

  static open(file: string): OpenWeightFile {
    const found = lookup(file);
    if (found === null) throw new WeightFileError(file, "cannot open: not among the model files given");
    if (found === "folder") throw new WeightFileError(file, "is not a regular file (a FIFO, device or folder); expected a weight file");
    return new OpenWeightFile(file, found);
  }

  readInto(target: Uint8Array, position: number, tensor?: string): void {
    if (this.bytes === undefined) throw new WeightFileError(this.file, "read after the file was closed", { tensor });
    if (position + target.length > this.bytes.length) {
      throw new WeightFileError(this.file, `file ended at byte ${this.bytes.length} while reading up to ${position + target.length}`, { tensor });
    }
    target.set(this.bytes.subarray(position, position + target.length));
  }

  close(): void {
    this.bytes = undefined;
  }
}

/** A whole weight file in a fresh buffer of its own (byte 0 aligned, as the pickle reader expects). */
export async function readWholeFile(file: string): Promise<Uint8Array> {
  const handle = OpenWeightFile.open(file);
  const copy = new Uint8Array(handle.size);
  handle.readInto(copy, 0);
  return copy;
}
