/**
 * Brings a model's files into the browser host (host.ts here): from a base URL (a Hugging Face-style
 * `…/resolve/<revision>` or any static folder), with the Cache API keeping what was downloaded, keyed
 * by URL and revision; or from File/Blob/ArrayBuffer objects. Only the files loading can use are
 * read (a folder picked in a file input also holds an ONNX export and the like): the config and
 * tokenizer files by name, the weights in Hugging Face's order of preference, and the files of the
 * sentence-transformers modules that modules.json names.
 */
import type { DownloadProgress, ModelFileMap, ModelLocation, NamedBlob } from "../io/model-source.js";
import { fileExists, join, mountedFolder, mountFolder } from "./host.js";

export interface MountOptions {
  /** Called as each file downloads (or comes from the cache). */
  onDownload?: (progress: DownloadProgress) => void;
  /** Keep downloads in the Cache API (default true; needs a secure context: https or localhost). */
  browserCache?: boolean;
  /** Hugging Face-style URLs: the revision to read (replaces the one in `…/resolve/<revision>`). */
  revision?: string;
  /** Only the tokenizer's files (Tokenizer.fromPretrained). */
  tokenizerOnly?: boolean;
  fetch?: typeof fetch;
}

/** The Cache API cache that keeps downloaded model files. */
export const CACHE_NAME = "bert-ts-models";

const CONFIG_FILES = ["config.json", "modules.json", "sentence_bert_config.json", "config_sentence_transformers.json", "GENERATED.json"];
const TOKENIZER_FILES = [
  "tokenizer.json",
  "tokenizer_config.json",
  "special_tokens_map.json",
  "added_tokens.json",
  "vocab.txt",
  "vocab.json",
  "merges.txt",
  "spiece.model",
  "sentencepiece.bpe.model",
];

/** Reads one file of the model by its path inside the folder; null when the model has no such file. */
type FileGetter = (path: string) => Promise<Uint8Array | null>;

let unnamed = 0;

/** Mounts the model and returns its root, the "folder" the rest of bert-ts reads it from. */
export async function mountModel(location: ModelLocation, options: MountOptions = {}): Promise<{ root: string; id?: string; revision?: string }> {
  if (typeof location === "string") {
    // Already mounted (a root a previous load returned): use it as it is.
    const mounted = mountedFolder(location, options.tokenizerOnly ? "tokenizer" : "model");
    if (mounted !== null) return { root: mounted };
    const { base, id, revision } = baseUrlOf(location, options.revision);
    const files = await collect(urlGetter(base, revision, options), options.tokenizerOnly === true);
    return { root: mountFolder(base, files, options.tokenizerOnly === true), id, revision };
  }
  const { name, byPath } = blobsByPath(location);
  const files = await collect(async (path) => {
    const found = byPath.get(path);
    if (found === undefined) return null;
    return found instanceof Blob ? new Uint8Array(await found.arrayBuffer()) : found;
  }, options.tokenizerOnly === true);
  let root = `files://${name}`;
  for (let n = 2; fileExists(root); n++) root = `files://${name}-${n}`;
  return { root: mountFolder(root, files) };
}

/** The files loading will look for, read with `get` (in parallel where the names are known up front). */
async function collect(get: FileGetter, tokenizerOnly: boolean): Promise<Map<string, Uint8Array>> {
  const files = new Map<string, Uint8Array>();
  const take = async (path: string): Promise<boolean> => {
    const bytes = await get(path);
    if (bytes) files.set(path, bytes);
    return bytes !== null;
  };
  await Promise.all([...CONFIG_FILES, ...TOKENIZER_FILES].map(take));
  if (tokenizerOnly) return files;
  await takeWeights("", files, take);
  const modules = files.get("modules.json");
  if (modules) {
    for (const m of parseModules(modules)) {
      if (m.path === "" || /Transformer$/.test(m.type)) continue;
      await take(join(m.path, "config.json"));
      if (/Dense$/.test(m.type)) await takeWeights(m.path, files, take);
    }
  }
  return files;
}

/** Hugging Face's order: model.safetensors, the sharded index and its shards, then pytorch_model.bin. */
async function takeWeights(folder: string, files: Map<string, Uint8Array>, take: (path: string) => Promise<boolean>): Promise<void> {
  const at = (name: string) => (folder ? join(folder, name) : name);
  if (await take(at("model.safetensors"))) return;
  if (await take(at("model.safetensors.index.json"))) {
    let shards: string[] = [];
    try {
      const index = JSON.parse(new TextDecoder().decode(files.get(at("model.safetensors.index.json")))) as { weight_map?: Record<string, unknown> };
      shards = [...new Set(Object.values(index.weight_map ?? {}).filter((s): s is string => typeof s === "string"))];
    } catch {
      return; // loadWeights reads the index again and reports what is wrong with it
    }
    // Shard names that leave the folder are refused by loadWeights; never fetch them.
    await Promise.all(shards.filter((s) => !s.includes("..") && !s.startsWith("/") && !s.includes("://")).map((s) => take(at(s))));
    return;
  }
  await take(at("pytorch_model.bin"));
}

function parseModules(bytes: Uint8Array): { path: string; type: string }[] {
  try {
    const list = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    if (!Array.isArray(list)) return [];
    return list.flatMap((m: unknown) => {
      if (typeof m !== "object" || m === null) return [];
      const { path, type } = m as { path?: unknown; type?: unknown };
      if (typeof path !== "string" || path.includes("..") || path.startsWith("/")) return [];
      return [{ path, type: typeof type === "string" ? type : "" }];
    });
  } catch {
    return []; // readSentenceTransformersModules reports a malformed modules.json, naming it
  }
}

// ---- URLs ----------------------------------------------------------------------------------------

const HF_RESOLVE = /^(https?:\/\/[^/]+\/)(.+?)\/resolve\/([^/]+)$/;

/** The folder URL without a trailing slash; a Hugging Face model page URL gets `/resolve/main`. */
function baseUrlOf(location: string, revisionOption: string | undefined): { base: string; id?: string; revision?: string } {
  const here = (globalThis as { location?: { href: string } }).location?.href;
  let url: URL;
  try {
    url = new URL(location, here);
  } catch {
    throw new TypeError(`Expected a model URL (a folder with config.json, or https://huggingface.co/ORG/NAME/resolve/main) but received "${location}"`);
  }
  let base = url.href.replace(/\/+$/, "");
  if (/^https:\/\/huggingface\.co\/[^/]+\/[^/]+$/.test(base)) base += "/resolve/main";
  const hf = HF_RESOLVE.exec(base);
  if (!hf) return { base, ...(revisionOption ? { revision: revisionOption } : {}) };
  const revision = revisionOption ?? decodeURIComponent(hf[3]);
  return { base: `${hf[1]}${hf[2]}/resolve/${encodeURIComponent(revision)}`, id: hf[2], revision };
}

function urlGetter(base: string, revision: string | undefined, options: MountOptions): FileGetter {
  const fetcher = options.fetch ?? globalThis.fetch.bind(globalThis);
  const useCache = options.browserCache !== false && typeof caches !== "undefined";
  const cache = useCache ? caches.open(CACHE_NAME) : undefined;
  return async (path) => {
    const url = `${base}/${path.split("/").map(encodeURIComponent).join("/")}`;
    // A plain static folder has no revision in its URLs: the one given (if any) keys the cache.
    const key = revision && !HF_RESOLVE.test(base) ? `${url}?bert-ts-revision=${encodeURIComponent(revision)}` : url;
    const store = await cache;
    const hit = await store?.match(key);
    if (hit) {
      const bytes = hit.status === 404 ? null : new Uint8Array(await hit.arrayBuffer());
      if (bytes) options.onDownload?.({ file: path, url, loaded: bytes.length, total: bytes.length, done: true, cached: true });
      return bytes;
    }
    let response: Response;
    try {
      response = await fetcher(url);
    } catch (err) {
      throw new Error(`${url}: cannot download: ${(err as Error).message}`, { cause: err });
    }
    if (response.status === 404) {
      // Remember that the file is absent too, so a cached model loads without a request.
      await store?.put(key, new Response(null, { status: 404, statusText: "Not in the model folder" }));
      return null;
    }
    if (!response.ok) throw new Error(`${url}: cannot download: HTTP ${response.status} ${response.statusText}`);
    const bytes = await readBody(response, path, url, options.onDownload);
    await store?.put(key, new Response(bytes as Uint8Array<ArrayBuffer>, { headers: { "content-type": "application/octet-stream" } }));
    return bytes;
  };
}

async function readBody(response: Response, file: string, url: string, onDownload: MountOptions["onDownload"]): Promise<Uint8Array> {
  const length = Number(response.headers.get("content-length"));
  const total = Number.isFinite(length) && length > 0 && !response.headers.get("content-encoding") ? length : undefined;
  if (!response.body) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    onDownload?.({ file, url, loaded: bytes.length, total: bytes.length, done: true, cached: false });
    return bytes;
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    loaded += value.length;
    onDownload?.({ file, url, loaded, total, done: false, cached: false });
  }
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.length;
  }
  onDownload?.({ file, url, loaded, total: loaded, done: true, cached: false });
  return bytes;
}

// ---- File / Blob / ArrayBuffer objects -------------------------------------------------------------

/** Paths inside the model folder: a folder input's webkitRelativePath loses its first segment (the folder's name). */
export function blobsByPath(objects: Exclude<ModelLocation, string>): { name: string; byPath: Map<string, Blob | Uint8Array> } {
  const given = new Map<string, Blob | Uint8Array>();
  if (isArrayLike(objects)) {
    for (const f of Array.from(objects)) given.set((f.webkitRelativePath || f.name).replace(/^\/+/, ""), f);
  } else {
    const entries = objects instanceof Map ? [...(objects as ReadonlyMap<string, unknown>)] : Object.entries(objects as Record<string, unknown>);
    for (const [path, value] of entries) {
      if (value instanceof Blob) given.set(path.replace(/^\/+/, ""), value);
      else if (value instanceof ArrayBuffer) given.set(path, new Uint8Array(value));
      else if (ArrayBuffer.isView(value)) given.set(path, new Uint8Array(value.buffer, value.byteOffset, value.byteLength));
      else throw new TypeError(`Expected a Blob, File, ArrayBuffer or typed array for model file "${path}" but received ${Object.prototype.toString.call(value)}`);
    }
  }
  // A folder picked in a file input gives "folder/config.json": that common first segment names the model.
  const paths = [...given.keys()];
  const firstSegments = new Set(paths.map((p) => (p.includes("/") ? p.slice(0, p.indexOf("/")) : "")));
  const folder = firstSegments.size === 1 && !firstSegments.has("") ? [...firstSegments][0] : undefined;
  if (folder === undefined) return { name: `model-${++unnamed}`, byPath: given };
  return { name: folder, byPath: new Map([...given].map(([p, v]) => [p.slice(folder.length + 1), v])) };
}

function isArrayLike(objects: Exclude<ModelLocation, string>): objects is ArrayLike<NamedBlob> {
  return !(objects instanceof Map) && typeof (objects as { length?: unknown }).length === "number";
}

export type { ModelFileMap };
