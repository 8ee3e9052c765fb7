/**
 * The packed-weight cache: every linear layer is repacked at load time into the kernels' layout
 * (int8 / bf16: quantised from the checkpoint's own weights; float32: reordered into panels, f16
 * checkpoints converted); this keeps the packed bytes so the same weights are not packed twice.
 * For a float32 MiniLM that is ~100 ms of a ~400 ms `embed` start; a second load maps the file,
 * checks it and copies each layer in (~15 ms).
 *
 * Key: the checkpoint's sha256 (io/file-digest.ts, itself cached by file version) and the backend's
 * packedLayout (dtype, kernel set, layout version). Location: a model in the Hugging Face cache
 * (…/models--org--name/snapshots/<commit>) keeps its file in that cache's `bert-ts/packed/`
 * subfolder; any other folder in the bert-ts cache folder's `packed/` (BERT_TS_CACHE, else
 * ~/.cache/bert-ts) — model folders are often read-only or shared, and a name by sha256 finds the
 * file wherever the folder is. BERT_TS_PACKED_CACHE=DIR puts it in DIR; =0 turns the cache off.
 *
 * File: "BTPW", u32 version, u32 header length, a JSON header { layout, weights_sha256, layers:
 * [{ out, in, bytes }] }, the layers' bytes (each from a 64-byte boundary, zero padded before it, so
 * the kernels can read them in place from a mapping of the file: no fresh memory to fault in), then
 * the xxh64 (u64 little-endian) of everything before it — sha256 would cost ~20 ms per 40 MB on
 * every load. A file whose checksum, header or any layer
 * does not check out is ignored and rewritten; writes go to a temporary file renamed into place, so
 * readers never see half a file.
 */
import { createHash } from "node:crypto";
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, readSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { realpath, stat } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import type { Backend, LinearParams, PackedFileLayer, WeightValues } from "../backend/backend.js";
import { checkpointSha256 } from "./checkpoint-digest.js";
import { bertTsCacheDir } from "./file-digest.js";
import { findWeightFiles } from "./weights.js";

const MAGIC = "BTPW";
/** 2: xxh64 trailer (1 had sha256), float32 layers. */
const VERSION = 2;
const PREFIX = 12;
const TRAILER = 8;
const ALIGN = 64;

/** Where each layer starts: the first after the header, each at a 64-byte boundary; and the end of the last. */
function layerOffsets(headerLength: number, sizes: readonly number[]): { offsets: number[]; end: number } {
  const offsets: number[] = [];
  let at = PREFIX + headerLength;
  for (const size of sizes) {
    at = Math.ceil(at / ALIGN) * ALIGN;
    offsets.push(at);
    at += size;
  }
  return { offsets, end: at };
}

export type PackedCacheStatus = "off" | "first-sight" | "hit" | "created" | "rebuilt-corrupt" | "rebuilt-stale";

/** What the last cached load did (tests and benchmarks count layers, not milliseconds). */
export interface PackedCacheOutcome {
  path?: string;
  status: PackedCacheStatus;
  /** Layers taken from the file. */
  reused: number;
  /** Layers packed by this load. */
  packed: number;
}

export let lastPackedCacheOutcome: PackedCacheOutcome | undefined;

interface LayerEntry {
  out: number;
  in: number;
  bytes: Uint8Array;
}

type CacheBackend = Backend & Required<Pick<Backend, "packedLayout" | "exportPacked" | "importPackedFile" | "packedChecksum">>;

/** Where the cache file for these weights and layout lives, or undefined when the cache is off. */
export function packedCachePath(dir: string, weightsSha256: string, layout: string): string | undefined {
  const env = process.env.BERT_TS_PACKED_CACHE;
  if (env === "0" || env === "off") return undefined;
  // The file format's version is in the name too: two bert-ts versions sharing a cache folder keep a
  // file each instead of rewriting one another's on every load.
  const name = `${weightsSha256}.${layout.replace(/[^A-Za-z0-9._-]/g, "_")}.f${VERSION}.bin`;
  if (env) return join(env, name);
  const snapshot = /^(.*)[/\\]models--[^/\\]+[/\\]snapshots[/\\][^/\\]+[/\\]?$/.exec(resolve(dir));
  if (snapshot) return join(snapshot[1], "bert-ts", "packed", name);
  return join(bertTsCacheDir(), "packed", name);
}

/**
 * How the caller's weight values may arrive unread: `defer` runs the build handing them out unread,
 * `ensure` reads one before it is packed after all (models/checkpoint.ts).
 */
export interface DeferredReads {
  defer<T>(build: () => T): T;
  ensure(values: WeightValues): void;
}

/**
 * Runs `build` (which prepares the model's layers through `backend`, synchronously) with
 * prepareLinear served from the cache file when it holds these weights, and writes the file when it
 * did not. Backends without a packedLayout just build. With `reads`, a build whose layers the file
 * holds runs deferred: the weights it would have packed are never read.
 */
export async function withPackedWeightCache<T>(backend: Backend, dir: string, build: () => T, reads?: DeferredReads, options: PackedCacheOptions = {}): Promise<T> {
  const layout = backend.packedLayout;
  if (layout === undefined || !backend.exportPacked || !backend.importPackedFile || !backend.packedChecksum) return build();
  const cacheBackend = backend as CacheBackend;
  if (options.fromSecondSight && packedCachePath(dir, "", layout) !== undefined && !(await seenBefore(dir, layout))) {
    lastPackedCacheOutcome = { status: "first-sight", reused: 0, packed: 0 };
    return build();
  }
  const sha = await checkpointSha256(dir);
  const path = packedCachePath(dir, sha, layout);
  if (path === undefined) {
    lastPackedCacheOutcome = { status: "off", reused: 0, packed: 0 };
    return build();
  }
  const read = readCacheFile(cacheBackend, path, layout, sha);
  const cached = read.layers;
  const fresh: LayerEntry[] = [];
  let reused = 0;
  let packed = 0;
  let usable = cached !== undefined;
  const own = Object.getOwnPropertyDescriptor(backend, "prepareLinear");
  const prepare = backend.prepareLinear.bind(backend);
  // build() is synchronous, so nothing else can call this backend while the override is in place.
  (backend as { prepareLinear: Backend["prepareLinear"] }).prepareLinear = (weight: WeightValues, bias: Float32Array | null, out: number, inp: number): LinearParams => {
    const i = reused;
    const hit = usable && cached && i < cached.length && cached[i].out === out && cached[i].in === inp ? cached[i].params : undefined;
    if (hit) {
      reused++;
      return hit;
    }
    if (usable) {
      // The file stops matching here: every layer is packed afresh (and exported) for the rewrite.
      usable = false;
      for (const c of (cached ?? []).slice(0, reused)) fresh.push({ out: c.out, in: c.in, bytes: cacheBackend.exportPacked(c.params!)! });
    }
    reads?.ensure(weight);
    const params = prepare(weight, bias, out, inp);
    packed++;
    const bytes = cacheBackend.exportPacked(params);
    if (bytes) fresh.push({ out, in: inp, bytes });
    return params;
  };
  let model: T;
  try {
    model = reads && cached !== undefined ? reads.defer(build) : build();
  } finally {
    if (own) Object.defineProperty(backend, "prepareLinear", own);
    else delete (backend as { prepareLinear?: unknown }).prepareLinear;
  }
  const complete = usable && cached !== undefined && reused === cached.length;
  let status: PackedCacheStatus = "hit";
  if (!complete) {
    status = read.problem === "missing" ? "created" : read.problem === "corrupt" ? "rebuilt-corrupt" : "rebuilt-stale";
    if (usable) for (const c of (cached ?? []).slice(0, reused)) fresh.push({ out: c.out, in: c.in, bytes: cacheBackend.exportPacked(c.params!)! });
    writeCacheFile(cacheBackend, path, layout, sha, fresh);
  }
  lastPackedCacheOutcome = { path, status, reused, packed };
  return model;
}

export interface PackedCacheOptions {
  /**
   * Cache these weights only from their second load on (float32): a first load just notes it saw
   * them. Writing the file (the checkpoint's sha256 when not known yet, every layer exported and
   * written) costs more than the packing it saves, which a one-off run would pay for nothing.
   */
  fromSecondSight?: boolean;
}

/** Whether a load of these weight files (by real path, size and mtime) in this layout was seen before; notes it if not. */
async function seenBefore(dir: string, layout: string): Promise<boolean> {
  try {
    const { files } = await findWeightFiles(dir);
    const ids = await Promise.all(files.map(async (f) => {
      const real = await realpath(f);
      const info = await stat(real);
      return `${real}\0${info.size}\0${info.mtimeMs}`;
    }));
    const key = createHash("sha256").update(`${layout}\0${ids.join("\0")}`).digest("hex");
    const marker = join(dirname(packedCachePath(dir, key, layout)!), "seen", key);
    if (existsSync(marker)) return true;
    mkdirSync(dirname(marker), { recursive: true });
    writeFileSync(marker, "");
    return false;
  } catch {
    return false; // cannot tell (or cannot note it): pack, as without a cache
  }
}

interface CachedLayer {
  out: number;
  in: number;
  params: LinearParams | undefined;
}

function readCacheFile(backend: CacheBackend, path: string, layout: string, sha: string): { layers?: CachedLayer[]; problem?: "missing" | "corrupt" | "stale" } {
  let fd: number;
  try {
    fd = openSync(path, "r");
  } catch {
    return { problem: "missing" };
  }
  let header: { layout: string; weights_sha256: string; layers: { out: number; in: number; bytes: number }[] };
  let headerLength: number;
  try {
    const size = fstatSync(fd).size;
    const prefix = Buffer.alloc(PREFIX);
    if (size < PREFIX + TRAILER || readSync(fd, prefix, 0, PREFIX, 0) !== PREFIX || prefix.toString("latin1", 0, 4) !== MAGIC) return { problem: "corrupt" };
    if (prefix.readUInt32LE(4) !== VERSION) return { problem: "stale" };
    headerLength = prefix.readUInt32LE(8);
    if (PREFIX + headerLength + TRAILER > size) return { problem: "corrupt" };
    const text = Buffer.alloc(headerLength);
    if (readSync(fd, text, 0, headerLength, PREFIX) !== headerLength) return { problem: "corrupt" };
    header = JSON.parse(text.toString("utf8"));
    if (!Array.isArray(header?.layers)) return { problem: "corrupt" };
    if (layerOffsets(headerLength, header.layers.map((l) => l.bytes)).end + TRAILER !== size) return { problem: "corrupt" };
  } catch {
    return { problem: "corrupt" };
  } finally {
    closeSync(fd);
  }
  if (header.layout !== layout || header.weights_sha256 !== sha) return { problem: "stale" };
  const { offsets } = layerOffsets(headerLength, header.layers.map((l) => l.bytes));
  const ranges: PackedFileLayer[] = header.layers.map((l, i) => ({ offset: offsets[i], length: l.bytes, out: l.out, in: l.in }));
  // The backend checks the trailer over the whole file before importing anything.
  const params = backend.importPackedFile(path, ranges);
  if (!params) return { problem: "corrupt" };
  return { layers: header.layers.map((l, i) => ({ out: l.out, in: l.in, params: params[i] })) };
}

/** Best effort: a cache that cannot be written only costs the packing next time. */
function writeCacheFile(backend: CacheBackend, path: string, layout: string, sha: string, layers: LayerEntry[]): void {
  const header = Buffer.from(JSON.stringify({ layout, weights_sha256: sha, layers: layers.map((l) => ({ out: l.out, in: l.in, bytes: l.bytes.length })) }), "utf8");
  const { offsets, end } = layerOffsets(header.length, layers.map((l) => l.bytes.length));
  const file = Buffer.alloc(end + TRAILER);
  file.write(MAGIC, 0, "latin1");
  file.writeUInt32LE(VERSION, 4);
  file.writeUInt32LE(header.length, 8);
  header.copy(file, PREFIX);
  layers.forEach((l, i) => file.set(l.bytes, offsets[i]));
  file.writeBigUInt64LE(backend.packedChecksum(file.subarray(0, end)), end);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(tmp, file);
    renameSync(tmp, path);
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was written
    }
  }
}
