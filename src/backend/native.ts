/**
 * The native backend: C++ kernels in a Node addon (native/: a prebuilt binary shipped in the package,
 * or compiled by scripts/build-native.mjs during `npm install` when none fits). The addon picks its
 * kernels by CPU (AVX-512, AVX2+FMA or portable) and runs them on a thread pool; every call here is
 * synchronous, like the Backend interface.
 *
 * Env: BERT_TS_THREADS=n (threads, default: the CPUs this process may use);
 * BERT_TS_KERNELS=avx512|avx2|generic (force a kernel set, e.g. to compare them; BERT_TS_NATIVE_ISA
 * is the older name); BERT_TS_NATIVE_ADDON=path (load another build of the addon);
 * BERT_TS_PROFILE=1 (time every native operation and print the table on stderr at exit);
 * BERT_TS_POOL_TRACE=FILE (one line per thread-pool job written to FILE at exit: bench/pool-trace.ts).
 */
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { useNativeHalfConversion } from "../io/dtype.js";
import { PACKAGE_ROOT } from "../package-root.js";
import { checkEmbeddingIds } from "./embedding-gather.js";
import { checkPoolRows } from "./mean-pool.js";
import type { WordPieceAccelerator, WordPieceTableSpec } from "../tokenizers/accelerator.js";
import {
  checkDisjoint,
  checkLayerNormArgs,
  checkLength,
  checkPositionBias,
  output,
  weightLength,
  type Activation,
  type AttentionResult,
  type Backend,
  type EmbeddingTables,
  type Dtype,
  type LayerNormParams,
  type LinearParams,
  type PackedFileLayer,
  type PositionBias,
  type WeightValues,
  positionBiasByDistance,
} from "./backend.js";

/** An opaque handle to packed weights owned by the addon (a napi External). */
export interface NativeHandle {
  readonly __nativeLinearHandle: unique symbol;
}

export interface NativeInfo {
  /** Kernel sets this CPU supports, best first. */
  isas: string[];
  best: string;
  threads: number;
  cpus: number;
  /** Per kernel set, its tile sizes, e.g. "8x48 kc=256 mc=128". */
  tiles: Record<string, string>;
  /** Per kernel set, the int8 / bf16 kernels it uses, e.g. "avx512-vnni-bf16". */
  lowp: Record<string, string>;
  /** BERT_TS_PROFILE is on. */
  profiling: boolean;
}

/** One row of the addon's per-operation timer (BERT_TS_PROFILE). */
export interface NativeProfileEntry {
  op: string;
  calls: number;
  /** Wall clock. */
  seconds: number;
  /** The calling thread's CPU time. */
  cpuSeconds: number;
  /** The pool helpers' CPU time in the op's tasks (older builds: absent). */
  helperCpuSeconds?: number;
  flops: number;
}

/** The addon's exports (native/src/napi/addon.cc). Sizes are checked there too. */
export interface NativeAddon {
  info(): NativeInfo;
  isaIndex(name: string): number;
  setThreads(n: number): void;
  /**
   * format: 0 = float32 weight, 1 = f16 bits, 2 = bf16 bits (a Uint16Array). dtype: DTYPE_CODES.
   * Copies what it is given.
   */
  prepareLinear(
    isa: number,
    weight: Float32Array | Uint16Array,
    format: number,
    bias: Float32Array | null,
    out: number,
    inp: number,
    dtype?: number,
  ): NativeHandle;
  freeLinear(handle: NativeHandle): void;
  linear(handle: NativeHandle, x: Float32Array, rows: number, activation: number, y: Float32Array): void;
  /** y = LayerNorm(x · Wᵀ + b + residual) · gamma + beta; y must not overlap x or residual. */
  linearAddLayerNorm(
    handle: NativeHandle,
    x: Float32Array,
    rows: number,
    residual: Float32Array,
    gamma: Float32Array,
    beta: Float32Array,
    eps: number,
    y: Float32Array,
  ): void;
  addLayerNorm(
    isa: number,
    x: Float32Array,
    residual: Float32Array | null,
    rows: number,
    cols: number,
    gamma: Float32Array,
    beta: Float32Array,
    eps: number,
    y: Float32Array,
  ): void;
  /** y: [seqStarts.length - 1, width]. */
  meanPool(x: Float32Array, seqStarts: Int32Array, width: number, y: Float32Array): void;
  /** format: as prepareLinear's; types and typeIds null when the model has no token types. Ids are range-checked. */
  embeddingLayerNorm(
    isa: number,
    words: Float32Array | Uint16Array,
    format: number,
    types: Float32Array | null,
    positions: Float32Array,
    ids: Int32Array,
    typeIds: Int32Array | null,
    positionIds: Int32Array,
    width: number,
    gamma: Float32Array,
    beta: Float32Array,
    eps: number,
    y: Float32Array,
  ): void;
  attention(
    isa: number,
    qkv: Float32Array,
    seqStarts: Int32Array,
    numHeads: number,
    headDim: number,
    scale: number,
    context: Float32Array,
    probs: Float32Array | null,
    /** [numHeads, 2 * maxDistance + 1] (positionBiasByDistance), or null. */
    biasByDistance?: Float32Array | null,
    maxDistance?: number,
  ): void;
  /** out: [numHeads * rows]; the bias arguments null (with maxDistance 0) when there is no position bias. */
  firstRowAttention(
    isa: number,
    qkv: Float32Array,
    seqStarts: Int32Array,
    numHeads: number,
    headDim: number,
    scale: number,
    out: Float32Array,
    biasTable: Float32Array | null,
    bucketOfDistance: Int32Array | null,
    maxDistance: number,
  ): void;
  /** GOPS of a register-only loop on `threads` threads: kind 0 float32 FMA, 1 int8 VPDPBUSD, 2 bf16 VDPBF16PS (0: no such instruction). */
  peak(isa: number, kind: 0 | 1 | 2, threads: number): number;
  profile(): NativeProfileEntry[];
  /** A layer's packed bytes (older builds: null for float32), and back (null: not a layer this build and CPU can run). */
  exportPacked(handle: NativeHandle): Uint8Array | null;
  importPacked(isa: number, bytes: Uint8Array): NativeHandle | null;
  /**
   * The layers of a packed-weight cache file, read from a mapping of it; layers: [offset, length,
   * dtype code, out, in] per layer. null when the file cannot be read or its last 8 bytes are not the
   * xxh64 of the rest; a layer null when its bytes are not such a layer. (Newer builds only.)
   */
  importPackedFile?(isa: number, path: string, layers: Float64Array): (NativeHandle | null)[] | null;
  /**
   * Zeroed memory of `bytes` bytes on transparent huge pages (2 MB-aligned), freed by the GC; null
   * where the OS offers none or external buffers are refused. (Newer builds only.)
   */
  hugePageBuffer?(bytes: number): ArrayBuffer | null;
  /** A private mapping of a whole file; null where files cannot be mapped or its size is not expectedBytes. (Newer builds only.) */
  mapFile?(path: string, expectedBytes: number): ArrayBuffer | null;
  /**
   * The values as JSON.stringify writes numbers, comma-separated, no brackets, as ASCII bytes into
   * target from offset (33 bytes of room per value); returns the end offset. (Builds with
   * std::to_chars for double only.)
   */
  jsonNumbersInto?(values: Float32Array, target: Uint8Array, offset: number): number;
  /**
   * BertPreTokenizer + WordPiece over normalized ASCII text (native/src/napi/wordpiece.cc); ids()
   * returns null for text with a code unit >= 128. (Newer builds only.)
   */
  WordPieceTable?: new (
    chars: Uint16Array,
    starts: Uint32Array,
    ids: Int32Array,
    asciiClasses: Uint8Array,
    unkId: number,
    continuingSubwordPrefix: string,
    maxInputCharsPerWord: number,
    preTokenizerNeverSplit: string[],
    modelNeverSplit: string[],
  ) => { ids(text: string): Int32Array | null };
  /**
   * Row r of rows as jsonNumbersInto writes it, into target from byte 33 * (the number of values in
   * the rows before r) to ends[r]; the rows are formatted on the thread pool. (Newer builds only.)
   */
  jsonNumberRowsInto?(rows: readonly Float32Array[], target: Uint8Array, ends: Uint32Array): void;
  /** xxHash64 (seed 0). (Newer builds only.) */
  xxh64?(bytes: Uint8Array): bigint;
  /** out[i] = the float32 of the half bits[i] (format 1: f16, 2: bf16), exactly. (Newer builds only.) */
  halfToFloat32?(bits: Uint16Array, format: 1 | 2, out: Float32Array): void;
  profileReset(): void;
  /** Floats from the array's start to its first 64-byte boundary (0..15); missing in addons built before it. */
  floatsToAlignment?(array: Float32Array): number;
  /** Returns the C heap's free pages to the OS (glibc malloc_trim; a no-op elsewhere). */
  releaseFreeMemory(): void;
  /** The vectorised activations alone, in place (tests). */
  activate(isa: number, y: Float32Array, activation: number): void;
  /** Naive C++ reference kernels (tests). */
  naiveLinear(
    x: Float32Array,
    weight: Float32Array,
    bias: Float32Array | null,
    rows: number,
    out: number,
    inp: number,
    activation: number,
    y: Float32Array,
  ): void;
  /** dtype: DTYPE_CODES bf16 or int8, quantised the way the kernels do it, summed exactly / in double. */
  naiveLinearLowp(
    x: Float32Array,
    weight: Float32Array,
    bias: Float32Array | null,
    rows: number,
    out: number,
    inp: number,
    activation: number,
    dtype: number,
    y: Float32Array,
  ): void;
  naiveAddLayerNorm(
    x: Float32Array,
    residual: Float32Array | null,
    rows: number,
    cols: number,
    gamma: Float32Array,
    beta: Float32Array,
    eps: number,
    y: Float32Array,
  ): void;
  naiveAttention(
    qkv: Float32Array,
    seqStarts: Int32Array,
    numHeads: number,
    headDim: number,
    scale: number,
    context: Float32Array,
    probs: Float32Array | null,
    biasByDistance?: Float32Array | null,
    maxDistance?: number,
  ): void;
  naiveFirstRowAttention(
    qkv: Float32Array,
    seqStarts: Int32Array,
    numHeads: number,
    headDim: number,
    scale: number,
    out: Float32Array,
    biasTable: Float32Array | null,
    bucketOfDistance: Int32Array | null,
    maxDistance: number,
  ): void;
}

/** Codes of native/src/kernels/api.h `Activation`. */
export const ACTIVATION_CODES: Record<Activation, number> = {
  none: 0,
  gelu: 1,
  gelu_new: 2,
  gelu_pytorch_tanh: 2,
  relu: 3,
  tanh: 4,
};

/**
 * Buffers from this size up go on 2 MB pages (Backend.allocate): the 2 MB rounding wastes at most
 * half, and smaller ones (a short text's scratch) stay in the ordinary heap.
 */
const HUGE_PAGE_MIN_BYTES = 1 << 20;

/** Codes of native/src/kernels/api.h `Dtype`. */
export const DTYPE_CODES: Record<Dtype, number> = { float32: 0, bf16: 1, int8: 2 };

/** The addon's folder: binding.gyp, build/Release (a local build) and prebuilds/<platform>-<arch>/. */
export const NATIVE_DIR = join(PACKAGE_ROOT, "native");
/** Where a local build (`npm run build:native`) puts the addon. */
export const NATIVE_ADDON_PATH = join(NATIVE_DIR, "build", "Release", "bert_ts_native.node");

/**
 * The addon file this process should load: BERT_TS_NATIVE_ADDON, else node-gyp-build's choice in
 * native/ — a local build when there is one (it was made on purpose: a compile from source, or a
 * kernel being changed), else the prebuilt binary shipped for this platform. The install script
 * compiles only when no prebuilt binary loads, so an installed package uses the prebuilt one.
 */
export function findNativeAddon(): { path?: string; reason: string } {
  const override = process.env.BERT_TS_NATIVE_ADDON;
  if (override) return existsSync(override) ? { path: override, reason: "BERT_TS_NATIVE_ADDON" } : { reason: `BERT_TS_NATIVE_ADDON=${override} does not exist` };
  // node-gyp-build's first choice, without loading and running it (~2-5 ms of every start): the
  // local build, unless PREBUILDS_ONLY asks for the prebuilt binaries.
  if (!process.env.PREBUILDS_ONLY && existsSync(NATIVE_ADDON_PATH)) return { path: NATIVE_ADDON_PATH, reason: "local build (native/build/Release)" };
  const requireHere = createRequire(join(PACKAGE_ROOT, "package.json"));
  try {
    const nodeGypBuild = requireHere("node-gyp-build") as { resolve(dir: string): string };
    return { path: nodeGypBuild.resolve(NATIVE_DIR), reason: "node-gyp-build" };
  } catch (e) {
    const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
    return { reason: `no native addon for ${process.platform}-${process.arch} in ${NATIVE_DIR} (neither a local build nor a prebuilt binary: ${msg})` };
  }
}

let loaded: { addon?: NativeAddon; reason: string } | undefined;

/** Loads the addon once per thread (it is context-aware, so worker_threads load their own instance). */
export function loadNativeAddon(): { addon?: NativeAddon; reason: string } {
  if (loaded) return loaded;
  const found = findNativeAddon();
  if (!found.path) {
    loaded = { reason: found.reason };
    return loaded;
  }
  const path = found.path;
  try {
    const addon = createRequire(join(PACKAGE_ROOT, "package.json"))(path) as NativeAddon;
    addon.setThreads(threadsFromEnv());
    if (addon.info().profiling) process.once("exit", () => process.stderr.write(formatNativeProfile(addon.profile())));
    if (typeof addon.halfToFloat32 === "function") useNativeHalfConversion(addon.halfToFloat32.bind(addon));
    loaded = { addon, reason: `loaded ${path}` };
  } catch (e) {
    const msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
    loaded = { reason: `could not load ${path}: ${msg}` };
  }
  return loaded;
}

/**
 * The addon's WordPiece word loop for a tokenizer, when this thread has loaded the addon already (a
 * native backend is in use) and the build has it; else undefined.
 */
export function loadedWordPieceTable(s: WordPieceTableSpec): WordPieceAccelerator | undefined {
  const Table = loaded?.addon?.WordPieceTable;
  if (typeof Table !== "function") return undefined;
  return new Table(s.chars, s.starts, s.ids, s.asciiClasses, s.unkId, s.continuingSubwordPrefix, s.maxInputCharsPerWord, s.preTokenizerNeverSplit, s.modelNeverSplit);
}

/**
 * The addon's writer of many rows of JSON numbers at once, on its thread pool
 * (NativeAddon.jsonNumberRowsInto), with its huge-page allocator when it has one; undefined unless
 * this thread has loaded the addon already (a native backend is in use) and the build has it.
 */
export function loadedJsonNumberRows():
  | { write: NonNullable<NativeAddon["jsonNumberRowsInto"]>; hugePageBuffer: ((bytes: number) => ArrayBuffer | null) | undefined }
  | undefined {
  const addon = loaded?.addon;
  if (typeof addon?.jsonNumberRowsInto !== "function") return undefined;
  return {
    write: addon.jsonNumberRowsInto.bind(addon),
    hugePageBuffer: typeof addon.hugePageBuffer === "function" ? addon.hugePageBuffer.bind(addon) : undefined,
  };
}

/**
 * The addon's JSON number writer (NativeAddon.jsonNumbersInto) when this thread has loaded the addon
 * already (a native backend is in use) and the build has it; else undefined. For output writers.
 */
export function loadedJsonNumbersInto(): NativeAddon["jsonNumbersInto"] {
  const addon = loaded?.addon;
  return typeof addon?.jsonNumbersInto === "function" ? addon.jsonNumbersInto.bind(addon) : undefined;
}

/**
 * Returns the C heap's free pages to the OS, when the native addon is there (a no-op otherwise).
 * For a process whose worker threads come and go (the server's inference pool): glibc gives each
 * thread a malloc arena of its own and hands a dead thread's freed memory back to the OS only from
 * the top of that arena, so without this every restarted worker left ~3 MiB more resident. Loads
 * the addon without touching its thread count (the kernel pool is process-wide: the workers set it).
 */
export function releaseFreeNativeMemory(): boolean {
  const addon = loaded?.addon ?? addonForHousekeeping();
  if (typeof addon?.releaseFreeMemory !== "function") return false;
  addon.releaseFreeMemory();
  return true;
}

let housekeeping: NativeAddon | null | undefined;

function addonForHousekeeping(): NativeAddon | undefined {
  if (housekeeping === undefined) {
    const { path } = findNativeAddon();
    try {
      housekeeping = path ? (createRequire(join(PACKAGE_ROOT, "package.json"))(path) as NativeAddon) : null;
    } catch {
      housekeeping = null;
    }
  }
  return housekeeping ?? undefined;
}

function threadsFromEnv(): number {
  const v = process.env.BERT_TS_THREADS;
  if (v === undefined || v === "") return availableParallelism();
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) {
    throw new Error(`Expected BERT_TS_THREADS to be a positive integer but received "${v}"`);
  }
  return n;
}

/**
 * The BERT_TS_PROFILE table: per native operation its wall-clock time and share, the calling
 * thread's CPU time (with BERT_TS_THREADS=1 that is the op's cost even on a busy host) with the
 * GFLOP/s it implies, and the CPU time pool helpers spent in its tasks (how the work was shared: on
 * 2 threads an evenly shared op has helpers ≈ the calling thread).
 */
export function formatNativeProfile(entries: NativeProfileEntry[]): string {
  const wall = entries.reduce((s, e) => s + e.seconds, 0);
  const cpu = entries.reduce((s, e) => s + e.cpuSeconds, 0);
  const helpers = entries.reduce((s, e) => s + (e.helperCpuSeconds ?? 0), 0);
  const ms = (s: number) => (s * 1000).toFixed(1).padStart(10);
  const row = (op: string, calls: string, w: string, share: string, c: string, cshare: string, h: string, rate: string) =>
    `${op.padEnd(26)} ${calls.padStart(7)} ${w.padStart(10)} ${share.padStart(6)} ${c.padStart(10)} ${cshare.padStart(6)} ${h.padStart(10)} ${rate.padStart(8)}`;
  const pct = (a: number, b: number) => `${((100 * a) / (b || 1)).toFixed(1)}%`;
  const lines = [...entries]
    .sort((a, b) => b.cpuSeconds - a.cpuSeconds)
    .map((e) =>
      row(
        e.op,
        String(e.calls),
        ms(e.seconds),
        pct(e.seconds, wall),
        ms(e.cpuSeconds),
        pct(e.cpuSeconds, cpu),
        ms(e.helperCpuSeconds ?? 0),
        e.flops > 0 ? (e.flops / e.cpuSeconds / 1e9).toFixed(1) : "",
      ),
    );
  return [
    "bert-ts native profile (BERT_TS_PROFILE): wall clock, the calling thread's CPU time, and the pool helpers' CPU time in the op's tasks",
    row("op", "calls", "wall ms", "share", "cpu ms", "share", "helpers ms", "GFLOP/s"),
    ...lines,
    row("total", "", ms(wall), "", ms(cpu), "", ms(helpers), ""),
    "",
  ].join("\n");
}

/** BERT_TS_KERNELS (or its older name BERT_TS_NATIVE_ISA), if set. */
export function kernelsFromEnv(): string | undefined {
  return process.env.BERT_TS_KERNELS || process.env.BERT_TS_NATIVE_ISA || undefined;
}

class NativeLinear implements LinearParams {
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    readonly handle: NativeHandle,
    readonly owner: NativeBackend,
  ) {}
}

export class NativeBackend implements Backend {
  readonly name: string;
  readonly isa: string;
  private readonly isaCode: number;
  private readonly dtypeCode: number;
  private prepared: WeakRef<NativeLinear>[] = [];

  /** isa: a kernel set from addon.info().isas; default the best one (or BERT_TS_KERNELS). */
  constructor(
    readonly addon: NativeAddon,
    isa?: string,
    readonly dtype: Dtype = "float32",
  ) {
    const info = addon.info();
    const want = isa ?? (kernelsFromEnv() || info.best);
    if (!info.isas.includes(want)) {
      throw new Error(`Expected a kernel set this CPU supports (${info.isas.join(", ")}) but received "${want}"`);
    }
    if (DTYPE_CODES[dtype] === undefined) throw new Error(`Unknown dtype: ${String(dtype)}`);
    this.isa = want;
    this.isaCode = addon.isaIndex(want);
    this.dtypeCode = DTYPE_CODES[dtype];
    const lowp = dtype === "float32" ? "" : ` ${dtype} (${info.lowp[want]})`;
    this.name = `native ${want}${lowp} x${info.threads} threads`;
  }

  /**
   * Buffers start on a 64-byte line: Node puts large ArrayBuffers 16 bytes past one, which splits
   * every 64-byte load and store of the kernels and lets two threads writing neighbouring column
   * panels of one row share a cache line. 15 spare floats and a subarray (addons built before
   * floatsToAlignment existed: plain arrays). For buffers the caller keeps to itself (a subarray's
   * .buffer is larger than it), so outputs the backend returns stay plain arrays.
   */
  allocate(length: number): Float32Array {
    // Large buffers (the model's activations, written whole every batch) on 2 MB pages: a fresh 4 KB
    // page costs ~10-15 us to fault in on a VM with nested paging, a 2 MB one about what 8 small do.
    if (length * 4 >= HUGE_PAGE_MIN_BYTES && typeof this.addon.hugePageBuffer === "function") {
      const buffer = this.addon.hugePageBuffer(length * 4);
      if (buffer) return new Float32Array(buffer);
    }
    const toLine = this.addon.floatsToAlignment;
    if (typeof toLine !== "function" || length < 16) return new Float32Array(length);
    const buffer = new Float32Array(length + 15);
    const skip = toLine(buffer);
    return buffer.subarray(skip, skip + length);
  }

  /**
   * Packed-weight cache key part: dtype, kernel set, and what its packing depends on (int8 / bf16:
   * the low-precision kernels; float32: the micro-kernel's tile, whose width is the panel width).
   * Undefined with an addon built before the cache could read files (the cache is then off).
   */
  get packedLayout(): string | undefined {
    if (typeof this.addon.importPackedFile !== "function" || typeof this.addon.xxh64 !== "function") return undefined;
    const info = this.addon.info();
    if (this.dtype === "float32") return `float32-${this.isa}-${info.tiles[this.isa]}-v1`;
    return `${this.dtype}-${this.isa}-${info.lowp[this.isa]}-v1`;
  }

  exportPacked(params: LinearParams): Uint8Array | undefined {
    if (!(params instanceof NativeLinear) || params.owner !== this) return undefined;
    return this.addon.exportPacked(params.handle) ?? undefined;
  }

  importPacked(bytes: Uint8Array, outFeatures: number, inFeatures: number): LinearParams | undefined {
    if (!this.packedHeaderFits(bytes, outFeatures, inFeatures)) return undefined;
    const handle = this.addon.importPacked(this.isaCode, bytes);
    if (!handle) return undefined;
    return this.track(new NativeLinear(inFeatures, outFeatures, handle, this));
  }

  importPackedFile(path: string, layers: readonly PackedFileLayer[]): (LinearParams | undefined)[] | undefined {
    if (typeof this.addon.importPackedFile !== "function") return undefined;
    const ranges = new Float64Array(layers.length * 5);
    layers.forEach((l, i) => ranges.set([l.offset, l.length, this.dtypeCode, l.out, l.in], 5 * i));
    // The addon checks each layer's header against this dtype and shape, and against this build.
    const handles = this.addon.importPackedFile(this.isaCode, path, ranges);
    if (!handles) return undefined;
    return handles.map((h, i) => (h ? this.track(new NativeLinear(layers[i].in, layers[i].out, h, this)) : undefined));
  }

  mapFile(path: string, expectedBytes: number): ArrayBuffer | undefined {
    if (typeof this.addon.mapFile !== "function") return undefined;
    return this.addon.mapFile(path, expectedBytes) ?? undefined;
  }

  packedChecksum(bytes: Uint8Array): bigint {
    if (typeof this.addon.xxh64 !== "function") throw new Error("This build of the native addon has no xxh64 (rebuild it: npm run build:native)");
    return this.addon.xxh64(bytes);
  }

  /** The 64-byte header exportPacked writes holds dtype, n and k: checked before the kernels see the bytes. */
  private packedHeaderFits(bytes: Uint8Array, outFeatures: number, inFeatures: number): boolean {
    if (bytes.length < 64) return false;
    const head = new Int32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + 64));
    return head[3] === this.dtypeCode && head[4] === outFeatures && head[5] === inFeatures;
  }

  prepareLinear(weight: WeightValues, bias: Float32Array | null, outFeatures: number, inFeatures: number): LinearParams {
    if (weightLength(weight) !== outFeatures * inFeatures) {
      throw new Error(`Expected ${outFeatures * inFeatures} values for the weight but received ${weightLength(weight)}`);
    }
    if (bias) checkLength("the bias", bias, outFeatures);
    // Half-precision weights go to the addon as stored: it converts them while packing.
    const handle =
      weight instanceof Float32Array
        ? this.addon.prepareLinear(this.isaCode, weight, 0, bias, outFeatures, inFeatures, this.dtypeCode)
        : this.addon.prepareLinear(this.isaCode, weight.bits, weight.format === "f16" ? 1 : 2, bias, outFeatures, inFeatures, this.dtypeCode);
    return this.track(new NativeLinear(inFeatures, outFeatures, handle, this));
  }

  /** Remembers a layer for dispose(). */
  private track(params: NativeLinear): NativeLinear {
    if (this.prepared.length > 64 && this.prepared.length % 64 === 0) {
      this.prepared = this.prepared.filter((r) => r.deref() !== undefined);
    }
    this.prepared.push(new WeakRef(params));
    return params;
  }

  linear(x: Float32Array, rows: number, params: LinearParams, activation: Activation = "none", out?: Float32Array): Float32Array {
    if (!(params instanceof NativeLinear) || params.owner.isaCode !== this.isaCode) {
      throw new Error(`Expected LinearParams prepared by this native backend (${this.isa})`);
    }
    checkLength("linear's input", x, rows * params.inFeatures);
    const code = ACTIVATION_CODES[activation];
    if (code === undefined) throw new Error(`Unknown activation: ${String(activation)}`);
    const y = output(out, rows * params.outFeatures);
    this.addon.linear(params.handle, x, rows, code, y);
    return y;
  }

  linearAddLayerNorm(x: Float32Array, rows: number, params: LinearParams, residual: Float32Array, norm: LayerNormParams, out?: Float32Array): Float32Array {
    if (!(params instanceof NativeLinear) || params.owner.isaCode !== this.isaCode) {
      throw new Error(`Expected LinearParams prepared by this native backend (${this.isa})`);
    }
    checkLength("linear's input", x, rows * params.inFeatures);
    checkLayerNormArgs(residual, null, rows, params.outFeatures, norm.gamma, norm.beta);
    checkDisjoint(out, x, residual);
    const y = output(out, rows * params.outFeatures);
    this.addon.linearAddLayerNorm(params.handle, x, rows, residual, norm.gamma, norm.beta, norm.eps, y);
    return y;
  }

  addLayerNorm(
    x: Float32Array,
    residual: Float32Array | null,
    rows: number,
    cols: number,
    gamma: Float32Array,
    beta: Float32Array,
    eps: number,
    out?: Float32Array,
  ): Float32Array {
    checkLayerNormArgs(x, residual, rows, cols, gamma, beta);
    const y = output(out, rows * cols);
    this.addon.addLayerNorm(this.isaCode, x, residual, rows, cols, gamma, beta, eps, y);
    return y;
  }

  meanPool(x: Float32Array, seqStarts: Int32Array, width: number, out?: Float32Array): Float32Array {
    checkPoolRows(x, seqStarts, width);
    const y = output(out, (seqStarts.length - 1) * width);
    this.addon.meanPool(x, seqStarts, width, y);
    return y;
  }

  embeddingLayerNorm(tables: EmbeddingTables, ids: Int32Array, typeIds: Int32Array, positionIds: Int32Array, out?: Float32Array): Float32Array {
    // The addon checks the ids too (it must not index outside a table); this gives the messages.
    checkEmbeddingIds(tables, ids, typeIds, positionIds);
    const { words, tokenTypes, width } = tables;
    const y = output(out, ids.length * width);
    const [values, format] = words instanceof Float32Array ? [words, 0] : [words.bits, words.format === "f16" ? 1 : 2];
    this.addon.embeddingLayerNorm(
      this.isaCode, values, format, tokenTypes ?? null, tables.positions, ids, tokenTypes ? typeIds : null, positionIds,
      width, tables.gamma, tables.beta, tables.eps, y,
    );
    return y;
  }

  attention(
    qkv: Float32Array,
    seqStarts: Int32Array,
    numHeads: number,
    headDim: number,
    scale: number,
    wantProbs = false,
    out?: Float32Array,
    positionBias?: PositionBias,
  ): AttentionResult {
    const hidden = numHeads * headDim;
    const rows = seqStarts[seqStarts.length - 1];
    checkLength("qkv", qkv, rows * 3 * hidden);
    const context = output(out, rows * hidden);
    const bias = positionBias ? positionBiasByDistance(positionBias, numHeads, seqStarts) : null;
    const maxDistance = positionBias?.maxDistance ?? 0;
    if (!wantProbs) {
      this.addon.attention(this.isaCode, qkv, seqStarts, numHeads, headDim, scale, context, null, bias, maxDistance);
      return { context };
    }
    let total = 0;
    for (let s = 0; s + 1 < seqStarts.length; s++) {
      const len = seqStarts[s + 1] - seqStarts[s];
      total += numHeads * len * len;
    }
    const all = new Float32Array(total);
    this.addon.attention(this.isaCode, qkv, seqStarts, numHeads, headDim, scale, context, all, bias, maxDistance);
    const probs: Float32Array[] = [];
    let off = 0;
    for (let s = 0; s + 1 < seqStarts.length; s++) {
      const len = seqStarts[s + 1] - seqStarts[s];
      probs.push(all.subarray(off, off + numHeads * len * len));
      off += numHeads * len * len;
    }
    return { context, probs };
  }

  firstRowAttention(
    qkv: Float32Array,
    seqStarts: Int32Array,
    numHeads: number,
    headDim: number,
    scale: number,
    positionBias?: PositionBias,
  ): Float32Array {
    const rows = seqStarts[seqStarts.length - 1];
    checkLength("qkv", qkv, rows * 3 * numHeads * headDim);
    if (positionBias) {
      let maxLen = 0;
      for (let s = 0; s + 1 < seqStarts.length; s++) maxLen = Math.max(maxLen, seqStarts[s + 1] - seqStarts[s]);
      checkPositionBias(positionBias, numHeads, maxLen);
    }
    const weights = new Float32Array(numHeads * rows);
    const b = positionBias;
    this.addon.firstRowAttention(this.isaCode, qkv, seqStarts, numHeads, headDim, scale, weights, b?.table ?? null, b?.bucketOfDistance ?? null, b?.maxDistance ?? 0);
    return weights;
  }

  /** Frees the packed weights of every layer this backend prepared; those layers cannot run after. */
  dispose(): void {
    for (const ref of this.prepared) {
      const p = ref.deref();
      if (p) this.addon.freeLinear(p.handle);
    }
    this.prepared = [];
  }
}

export function tryLoadNativeBackend(dtype: Dtype = "float32"): { backend?: Backend; reason: string } {
  const { addon, reason } = loadNativeAddon();
  if (!addon) return { reason };
  try {
    return { backend: new NativeBackend(addon, undefined, dtype), reason };
  } catch (e) {
    return { reason: e instanceof Error ? e.message : String(e) };
  }
}
