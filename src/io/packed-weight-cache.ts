/**
 * The packed-weight cache: int8 (and bf16) layers are quantised from the checkpoint's own weights at
 * load time; this keeps the packed bytes so the same weights are not quantised twice.
 *
 * Key: the checkpoint's sha256 (io/file-digest.ts) and the backend's packedLayout (dtype, kernel set,
 * layout version). Location: a model in the Hugging Face cache (…/models--org--name/snapshots/<commit>)
 * keeps its file in that cache's `bert-ts/packed/` subfolder; any other folder in the bert-ts cache
 * folder's `packed/` (BERT_TS_CACHE, else ~/.cache/bert-ts) — model folders are often read-only or
 * shared, and a name by sha256 finds the file wherever the folder is. BERT_TS_PACKED_CACHE=DIR puts
 * it in DIR; =0 turns the cache off.
 *
 * File: "BTPW", u32 version, u32 header length, a JSON header { layout, weights_sha256, layers:
 * [{ out, in, bytes }] }, the layers' bytes, then the sha256 of everything before it. A file whose
 * checksum, header or any layer does not check out is ignored and rewritten; writes go to a
 * temporary file renamed into place, so readers never see half a file.
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, unlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join, resolve } from "node:path";
import type { Backend, LinearParams, WeightValues } from "../backend/backend.js";
import { checkpointSha256 } from "./checkpoint-digest.js";
import { bertTsCacheDir } from "./file-digest.js";

const MAGIC = "BTPW";
const VERSION = 1;

export type PackedCacheStatus = "off" | "hit" | "created" | "rebuilt-corrupt" | "rebuilt-stale";

/** What the last cached load did (tests and benchmarks count layers, not milliseconds). */
export interface PackedCacheOutcome {
  path?: string;
  status: PackedCacheStatus;
  /** Layers taken from the file. */
  reused: number;
  /** Layers quantised by this load. */
  packed: number;
}

export let lastPackedCacheOutcome: PackedCacheOutcome | undefined;

interface LayerEntry {
  out: number;
  in: number;
  bytes: Uint8Array;
}

/** Where the cache file for these weights and layout lives, or undefined when the cache is off. */
export function packedCachePath(dir: string, weightsSha256: string, layout: string): string | undefined {
  const env = process.env.BERT_TS_PACKED_CACHE;
  if (env === "0" || env === "off") return undefined;
  const name = `${weightsSha256}.${layout.replace(/[^A-Za-z0-9._-]/g, "_")}.bin`;
  if (env) return join(env, name);
  const snapshot = /^(.*)[/\\]models--[^/\\]+[/\\]snapshots[/\\][^/\\]+[/\\]?$/.exec(resolve(dir));
  if (snapshot) return join(snapshot[1], "bert-ts", "packed", name);
  return join(bertTsCacheDir(), "packed", name);
}

/**
 * Runs `build` (which prepares the model's layers through `backend`, synchronously) with
 * prepareLinear served from the cache file when it holds these weights, and writes the file when it
 * did not. Backends without a packedLayout (float32) just build.
 */
export async function withPackedWeightCache<T>(backend: Backend, dir: string, build: () => T): Promise<T> {
  const layout = backend.packedLayout;
  if (layout === undefined || !backend.exportPacked || !backend.importPacked) return build();
  const sha = await checkpointSha256(dir);
  const path = packedCachePath(dir, sha, layout);
  if (path === undefined) {
    lastPackedCacheOutcome = { status: "off", reused: 0, packed: 0 };
    return build();
  }
  const read = readCacheFile(path, layout, sha);
  const cached = read.entries;
  const fresh: LayerEntry[] = [];
  let reused = 0;
  let usable = cached !== undefined;
  const own = Object.getOwnPropertyDescriptor(backend, "prepareLinear");
  const prepare = backend.prepareLinear.bind(backend);
  // build() is synchronous, so nothing else can call this backend while the override is in place.
  (backend as { prepareLinear: Backend["prepareLinear"] }).prepareLinear = (weight: WeightValues, bias: Float32Array | null, out: number, inp: number): LinearParams => {
    const i = fresh.length;
    const hit = usable && cached && i < cached.length && cached[i].out === out && cached[i].in === inp ? backend.importPacked!(cached[i].bytes, out, inp) : undefined;
    if (hit) {
      reused++;
      fresh.push(cached![i]);
      return hit;
    }
    usable = false;
    const params = prepare(weight, bias, out, inp);
    const bytes = backend.exportPacked!(params);
    if (bytes) fresh.push({ out, in: inp, bytes });
    return params;
  };
  let model: T;
  try {
    model = build();
  } finally {
    if (own) Object.defineProperty(backend, "prepareLinear", own);
    else delete (backend as { prepareLinear?: unknown }).prepareLinear;
  }
  const complete = usable && cached !== undefined && reused === cached.length;
  let status: PackedCacheStatus = "hit";
  if (!complete) {
    status = read.problem === "missing" ? "created" : read.problem === "corrupt" ? "rebuilt-corrupt" : "rebuilt-stale";
    writeCacheFile(path, layout, sha, fresh);
  }
  lastPackedCacheOutcome = { path, status, reused, packed: fresh.length - reused };
  return model;
}

function readCacheFile(path: string, layout: string, sha: string): { entries?: LayerEntry[]; problem?: "missing" | "corrupt" | "stale" } {
  let file: Buffer;
  try {
    file = readFileSync(path);
  } catch {
    return { problem: "missing" };
  }
  try {
    if (file.length < 12 + 32 || file.toString("latin1", 0, 4) !== MAGIC) return { problem: "corrupt" };
    const body = file.subarray(0, file.length - 32);
    if (!createHash("sha256").update(body).digest().equals(file.subarray(file.length - 32))) return { problem: "corrupt" };
    if (file.readUInt32LE(4) !== VERSION) return { problem: "stale" };
    const headerLength = file.readUInt32LE(8);
    const header = JSON.parse(file.toString("utf8", 12, 12 + headerLength)) as { layout: string; weights_sha256: string; layers: { out: number; in: number; bytes: number }[] };
    if (header.layout !== layout || header.weights_sha256 !== sha) return { problem: "stale" };
    const entries: LayerEntry[] = [];
    let at = 12 + headerLength;
    for (const l of header.layers) {
      if (at + l.bytes > body.length) return { problem: "corrupt" };
      entries.push({ out: l.out, in: l.in, bytes: new Uint8Array(body.buffer, body.byteOffset + at, l.bytes) });
      at += l.bytes;
    }
    return at === body.length ? { entries } : { problem: "corrupt" };
  } catch {
    return { problem: "corrupt" };
  }
}

/** Best effort: a cache that cannot be written only costs the quantisation next time. */
function writeCacheFile(path: string, layout: string, sha: string, layers: LayerEntry[]): void {
  const header = Buffer.from(JSON.stringify({ layout, weights_sha256: sha, layers: layers.map((l) => ({ out: l.out, in: l.in, bytes: l.bytes.length })) }), "utf8");
  const prefix = Buffer.alloc(12);
  prefix.write(MAGIC, 0, "latin1");
  prefix.writeUInt32LE(VERSION, 4);
  prefix.writeUInt32LE(header.length, 8);
  const hash = createHash("sha256").update(prefix).update(header);
  for (const l of layers) hash.update(l.bytes);
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  try {
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(tmp, Buffer.concat([prefix, header, ...layers.map((l) => l.bytes), hash.digest()]));
    renameSync(tmp, path);
  } catch {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was written
    }
  }
}
