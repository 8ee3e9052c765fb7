/**
 * The WebAssembly backend: the C++ kernels of native/src compiled to wasm32 with 128-bit SIMD
 * (scripts/build-wasm.mjs, `npm run build:wasm`), run in Node or in a browser.
 *
 * This module uses no Node built-ins, so a bundler can take it into a web page: the caller hands it
 * the kernels as bytes, a compiled WebAssembly.Module, a Response, or a URL to fetch
 * (wasmKernelsUrl() points at the file shipped in the package). In Node, wasm-node.ts reads the file
 * from disk and can load it synchronously (getBackend("wasm") / BERT_TS_BACKEND=wasm).
 *
 * Every call copies its inputs into the module's linear memory, runs the kernel there and copies the
 * result out: the copies are O(rows x features) against the kernels' O(rows x features x features).
 * The copy area is one block, grown on demand and reused; prepared weights live in linear memory
 * until the backend is disposed or their LinearParams is garbage collected.
 *
 * Threads: with `threads > 1`, where SharedArrayBuffer exists (Node; a cross-origin isolated page),
 * the threaded build runs over one shared memory with helper instances in Workers (spawnHelper:
 * browserHelperSpawner() in pages, nodeHelperSpawner() from wasm-node.ts in Node). The caller's
 * thread takes part and only spins while helpers finish (a page's main thread may not block).
 * Without SharedArrayBuffer, or without a spawner, the single-threaded build runs instead and
 * `threadsFallbackReason` says why.
 */
import {
  checkLayerNormArgs,
  checkLength,
  checkPositionBias,
  output,
  weightLength,
  type Activation,
  type AttentionResult,
  type Backend,
  type EmbeddingTables,
  type LayerNormParams,
  type LinearParams,
  type PositionBias,
  type WeightValues,
  positionBiasByDistance,
  linearThenAddLayerNorm,
} from "./backend.js";
import { gatherEmbeddingLayerNorm } from "./embedding-gather.js";
import { meanPoolRows } from "./mean-pool.js";

/** Codes of native/src/kernels/api.h `Activation` (the same as the native addon's). */
const ACTIVATIONS: Record<Activation, number> = {
  none: 0,
  gelu: 1,
  gelu_new: 2,
  gelu_pytorch_tanh: 2,
  relu: 3,
  tanh: 4,
};

// The few WebAssembly JS API shapes used here, typed locally: the project compiles without the DOM
// library (which is where TypeScript declares WebAssembly).
/** A compiled WebAssembly.Module. */
export type WasmModule = object;
interface WasmMemory {
  readonly buffer: ArrayBuffer;
}
/** A WebAssembly.Memory (shared in the threaded build). */
export type WasmMemoryObject = WasmMemory;
interface WasmApi {
  Memory: new (d: { initial: number; maximum: number; shared: boolean }) => WasmMemory;
  Module: { new (bytes: ArrayBuffer | ArrayBufferView): WasmModule; imports(m: WasmModule): { module: string; name: string; kind: string }[] };
  Instance: new (m: WasmModule, imports: Record<string, Record<string, unknown>>) => { exports: Record<string, unknown> };
  compile(bytes: ArrayBuffer | ArrayBufferView): Promise<WasmModule>;
  compileStreaming?(response: Response | PromiseLike<Response>): Promise<WasmModule>;
}

function wasmApi(): WasmApi {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  if (!api) throw new Error("This JavaScript runtime has no WebAssembly support: the wasm backend cannot run here");
  return api;
}

/** The kernel module's exports (native/src/wasm/exports.cc). Pointers and sizes are i32. */
interface KernelExports {
  memory: WasmMemory;
  _initialize(): void;
  bt_alloc(bytes: number): number;
  bt_free(ptr: number): void;
  bt_pack_linear(weight: number, format: number, bias: number, n: number, k: number): number;
  bt_free_linear(handle: number): void;
  bt_linear(handle: number, x: number, m: number, y: number, act: number): void;
  bt_add_layernorm(x: number, residual: number, rows: number, cols: number, gamma: number, beta: number, eps: number, y: number): void;
  bt_attention(
    qkv: number,
    seqStarts: number,
    nseq: number,
    heads: number,
    headDim: number,
    scale: number,
    context: number,
    probs: number,
    bias: number,
    maxDistance: number,
  ): void;
  bt_first_row_attention(
    qkv: number,
    seqStarts: number,
    nseq: number,
    heads: number,
    headDim: number,
    scale: number,
    table: number,
    buckets: number,
    maxDistance: number,
    out: number,
  ): void;
  bt_activate(y: number, n: number, act: number): void;
  bt_tile(which: number): number;
  bt_threads(): number;
  bt_set_threads(n: number): void;
  bt_helper_tasks(): number;
  bt_peak_probe(ma: number, iters: number): number;
  /** The threaded build only. */
  bt_worker_loop?(index: number, stackLo: number, stackHi: number): void;
}

const EXPORTS: (keyof KernelExports)[] = [
  "memory",
  "bt_alloc",
  "bt_free",
  "bt_pack_linear",
  "bt_free_linear",
  "bt_linear",
  "bt_add_layernorm",
  "bt_attention",
  "bt_first_row_attention",
  "bt_activate",
  "bt_tile",
  "bt_threads",
  "bt_set_threads",
  "bt_helper_tasks",
];

/** Where the kernels sit in the package, next to dist/ and src/ (as a URL: fetch it in a browser). */
export function wasmKernelsUrl(): URL {
  return new URL("../../wasm/bert-ts-kernels.wasm", import.meta.url);
}

/** The threaded build of the kernels (needs SharedArrayBuffer). */
export function wasmThreadedKernelsUrl(): URL {
  return new URL("../../wasm/bert-ts-kernels-threads.wasm", import.meta.url);
}

/** The threaded build's imported memory: 16 MiB to start, 2 GiB at most (scripts/build-wasm.mjs). */
const SHARED_MEMORY_PAGES = { initial: 256, maximum: 32768 };
/** Stack of each helper instance. The kernels keep their tiles in registers and scratch, not on the stack. */
const HELPER_STACK_BYTES = 256 << 10;

/** What the kernels can be loaded from. A string is a URL. */
export type WasmSource = ArrayBuffer | ArrayBufferView | WasmModule | Response | PromiseLike<Response> | URL | string;

/** Compiles the kernels from any WasmSource (fetching URLs; streaming compile when the server says application/wasm). */
export async function compileWasmKernels(source: WasmSource = wasmKernelsUrl()): Promise<WasmModule> {
  const api = wasmApi();
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return api.compile(source);
  if (typeof source === "string" || source instanceof URL) source = fetch(source);
  if (isThenable(source) || isResponse(source)) {
    const response = await source;
    const where = response.url || "the given Response";
    if (!response.ok) throw new Error(`Could not fetch the WASM kernels from ${where}: HTTP ${response.status}`);
    const type = response.headers.get("content-type") ?? "";
    if (api.compileStreaming && type.split(";")[0].trim() === "application/wasm") return api.compileStreaming(response);
    return api.compile(await response.arrayBuffer());
  }
  return source; // a compiled module
}

function isThenable(x: unknown): x is PromiseLike<Response> {
  return typeof (x as { then?: unknown }).then === "function";
}

function isResponse(x: unknown): x is Response {
  return typeof Response !== "undefined" && x instanceof Response;
}

/** Whether a module is the threaded build (it imports its memory, which must be shared). */
function importsMemory(module: WasmModule): boolean {
  return wasmApi().Module.imports(module).some((i) => i.kind === "memory");
}

/**
 * The kernel module's imports. STANDALONE_WASM leaves a few: the shared memory (threaded build);
 * emscripten's memory-growth hook (a no-op: views are re-made after every call anyway); and WASI's
 * proc_exit (reached by abort(), i.e. out of memory), clock_time_get and environ_* (the native
 * driver's optional profiler reads BERT_TS_PROFILE and the clocks: here the environment is empty).
 * Self-contained (no outer names): helper Workers receive its source text, see helperScript().
 */
export function kernelImports(module: WasmModule, memory: unknown, buffer: () => ArrayBuffer): Record<string, Record<string, unknown>> {
  const imports: Record<string, Record<string, unknown>> = {};
  const wasi: Record<string, (...a: any[]) => unknown> = {
    proc_exit: (code: number) => {
      throw new Error(`The WASM kernels aborted (exit code ${code}): out of memory?`);
    },
    environ_sizes_get: (countPtr: number, sizePtr: number) => {
      const v = new DataView(buffer());
      v.setUint32(countPtr, 0, true);
      v.setUint32(sizePtr, 0, true);
      return 0;
    },
    environ_get: () => 0,
    clock_time_get: (_id: number, _precision: bigint, timePtr: number) => {
      new DataView(buffer()).setBigUint64(timePtr, BigInt(Math.round(performance.now() * 1e6)), true);
      return 0;
    },
    emscripten_notify_memory_growth: () => {},
  };
  for (const imp of (globalThis as any).WebAssembly.Module.imports(module)) {
    let value: unknown;
    if (imp.kind === "memory") value = memory;
    else if (imp.kind === "function")
      value =
        wasi[imp.name] ??
        (() => {
          throw new Error(`The WASM kernels called ${imp.module}.${imp.name}, which this loader does not provide`);
        });
    else throw new Error(`The WASM kernels import a ${imp.kind} ${imp.module}.${imp.name}, which this loader does not provide`);
    (imports[imp.module] ??= {})[imp.name] = value;
  }
  return imports;
}

/**
 * Instantiates compiled kernels. Synchronous: usable wherever WebAssembly.Instance is (Node, workers).
 * The threaded build needs its shared memory (made here when not given).
 */
export function instantiateWasmKernels(module: WasmModule, sharedMemory?: WasmMemory): KernelExports {
  const api = wasmApi();
  let memory: WasmMemory | undefined = api.Module.imports(module).some((i) => i.kind === "memory")
    ? (sharedMemory ?? new api.Memory({ ...SHARED_MEMORY_PAGES, shared: true }))
    : undefined;
  let instanceMemory: WasmMemory | undefined;
  const imports = kernelImports(module, memory, () => (memory ?? instanceMemory)!.buffer);
  const exports = { ...new api.Instance(module, imports).exports };
  instanceMemory = exports.memory as WasmMemory | undefined;
  if (memory) exports.memory = memory;
  for (const name of EXPORTS) {
    if (!(name in exports)) throw new Error(`The WASM kernels lack the export ${name}: rebuild them with \`npm run build:wasm\``);
  }
  if (typeof exports._initialize === "function") (exports._initialize as () => void)();
  return exports as unknown as KernelExports;
}

/** What a helper thread needs: the compiled threaded build, the shared memory, its index and stack. */
export interface WasmHelperInit {
  module: WasmModule;
  memory: WasmMemoryObject;
  /** 1-based; the caller's thread is 0. */
  index: number;
  stackLo: number;
  stackHi: number;
}

/** Starts runWasmHelper(init) on a new thread (Worker / worker_threads) and returns a way to stop it. */
export type WasmHelperSpawner = (init: WasmHelperInit) => { terminate(): unknown };

/**
 * A helper thread's whole life: instantiates the threaded kernels over the shared memory (no
 * _initialize: the leader instance did that, and memory is initialised once), moves onto its own
 * stack and serves the pool's parallel loops; never returns. Self-contained (no outer names; the
 * imports come from makeImports = kernelImports), so that its source text can be a Worker's script:
 * see helperScript().
 */
export function runWasmHelper(init: WasmHelperInit, makeImports: typeof kernelImports): void {
  const api = (globalThis as any).WebAssembly;
  const ex = new api.Instance(init.module, makeImports(init.module, init.memory, () => init.memory.buffer)).exports;
  ex.stackRestore(init.stackHi);
  ex.bt_worker_loop(init.index, init.stackLo, init.stackHi);
}

/** The script of a helper Worker: runs runWasmHelper on the first message (browsers) or on workerData (Node). */
export function helperScript(kind: "web" | "node"): string {
  // __name: what esbuild's keepNames (tsx, some bundles) wraps named functions in; the functions'
  // source text carries the calls but not the helper.
  const run = (data: string) => `var __name = (f) => f; (${runWasmHelper.toString()})(${data}, ${kernelImports.toString()});`;
  return kind === "web" ? `self.onmessage = (e) => { ${run("e.data")} };` : `const { workerData } = require("node:worker_threads"); ${run("workerData")}`;
}

/** Spawns helpers as Web Workers from a Blob URL (no file to serve or bundle). */
export function browserHelperSpawner(): WasmHelperSpawner {
  const g = globalThis as any;
  if (typeof g.Worker !== "function" || typeof g.Blob !== "function") throw new Error("Web Workers are not available here");
  const url: string = g.URL.createObjectURL(new g.Blob([helperScript("web")], { type: "text/javascript" }));
  return (init) => {
    const worker = new g.Worker(url);
    worker.postMessage(init);
    return worker;
  };
}

/** Options of WasmBackend.create. */
export interface WasmBackendOptions {
  /** Threads, the caller's included (default 1). More than 1 needs SharedArrayBuffer and spawnHelper. */
  threads?: number;
  /** The threaded build (default wasmThreadedKernelsUrl()). */
  threadedSource?: WasmSource;
  /** Starts helper threads; in a page browserHelperSpawner(), in Node nodeHelperSpawner() (wasm-node.ts). */
  spawnHelper?: WasmHelperSpawner;
  /** How long to wait for the helpers to start (ms, default 30000); the pool runs with those that did. */
  startTimeoutMs?: number;
}

/** Why threads cannot be used here, or undefined when they can. */
export function threadsUnavailableReason(): string | undefined {
  const g = globalThis as any;
  if (typeof g.SharedArrayBuffer !== "function") return "SharedArrayBuffer is unavailable (a page must be cross-origin isolated: COOP same-origin + COEP require-corp)";
  if (g.crossOriginIsolated === false) return "the page is not cross-origin isolated (COOP same-origin + COEP require-corp)";
  try {
    new (wasmApi().Memory)({ initial: 1, maximum: 1, shared: true });
  } catch (e) {
    return `shared WebAssembly memory is unavailable: ${e instanceof Error ? e.message : String(e)}`;
  }
  return undefined;
}

class WasmLinear implements LinearParams {
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    /** Address of the packed weights (a PackedLinear) in the owner's memory; 0 once freed. */
    public handle: number,
    readonly owner: WasmBackend,
  ) {}
}

/** The kernels index by seqStarts without checks: it must start at a row >= 0 and never decrease. */
function checkSeqStarts(seqStarts: Int32Array): void {
  if (seqStarts.length < 1) throw new RangeError("Expected at least one value for seqStarts");
  if (seqStarts[0] < 0) throw new RangeError("Expected seqStarts to start at a row >= 0");
  for (let s = 0; s + 1 < seqStarts.length; s++) {
    if (seqStarts[s + 1] < seqStarts[s]) throw new RangeError("Expected seqStarts to be non-decreasing");
  }
}

/** A typed array to copy into linear memory. */
type Input = Float32Array | Int32Array | Uint16Array;

export class WasmBackend implements Backend {
  /** The wasm kernels compute in float32 only (bf16 / int8 are native). */
  readonly dtype = "float32" as const;
  private readonly k: KernelExports;
  private helpers: { terminate(): unknown }[] = [];
  /** When threads were asked for but the single-threaded build runs: why. */
  threadsFallbackReason?: string;
  /** The reused copy area: address and size in bytes. */
  private areaPtr = 0;
  private areaBytes = 0;
  /** Weak: a layer the program drops is freed by the finalizer, not kept alive by this list. */
  private prepared: WeakRef<WasmLinear>[] = [];
  // Packed weights of layers the program dropped without dispose() go back to the heap.
  private readonly finalizer = new FinalizationRegistry<number>((handle) => this.k.bt_free_linear(handle));

  constructor(exports: KernelExports) {
    this.k = exports;
  }

  /** E.g. "wasm simd128 x1 thread", "wasm simd128 x4 threads" (threads running now). */
  get name(): string {
    const t = this.threads;
    return `wasm simd128 x${t} thread${t === 1 ? "" : "s"}`;
  }

  /** Parallel-loop tasks helper threads have run so far (0 single-threaded): evidence the work is shared. */
  get helperTasks(): number {
    return this.k.bt_helper_tasks() >>> 0;
  }

  /**
   * Measured SIMD128 multiply + add peak of this thread in GFLOP/s (best of `rounds` timings of a
   * register-only loop), for benchmarks' peak fractions. `now` returns milliseconds.
   */
  measurePeakGflops(now: () => number, rounds = 5, iters = 2_000_000): number {
    const [p] = this.reserve([8]);
    new Float32Array(this.k.memory.buffer, p, 2).set([0.999, 1e-3]);
    this.k.bt_peak_probe(p, 1000); // tier up
    let best = 0;
    for (let r = 0; r < rounds; r++) {
      const t0 = now();
      this.k.bt_peak_probe(p, iters);
      const seconds = (now() - t0) / 1000;
      best = Math.max(best, (96 * iters) / seconds / 1e9);
    }
    return best;
  }

  /** Threads the kernels' parallel loops use, the caller's included. */
  get threads(): number {
    return this.k.bt_threads();
  }

  /**
   * Loads, compiles and instantiates the kernels: `source` is the single-threaded build (default:
   * the .wasm shipped in the package, fetched). With options.threads > 1, the threaded build and its
   * helpers when this environment allows them (see threadsFallbackReason otherwise).
   */
  static async create(source?: WasmSource, options: WasmBackendOptions = {}): Promise<WasmBackend> {
    const threads = options.threads ?? 1;
    if (!Number.isInteger(threads) || threads < 1) throw new Error(`Expected threads to be a positive integer but received ${threads}`);
    let reason: string | undefined;
    if (threads > 1) {
      reason = threadsUnavailableReason() ?? (options.spawnHelper ? undefined : "no spawnHelper was given to start helper threads");
      if (!reason) {
        const module = await compileWasmKernels(options.threadedSource ?? wasmThreadedKernelsUrl());
        return WasmBackend.startThreads(module, threads, options.spawnHelper!, options.startTimeoutMs ?? 30000);
      }
    }
    const backend = new WasmBackend(instantiateWasmKernels(await compileWasmKernels(source)));
    backend.threadsFallbackReason = reason;
    return backend;
  }

  /** From an already compiled single-threaded module (e.g. one compiled once and shared with Workers). Synchronous. */
  static fromModule(module: WasmModule): WasmBackend {
    if (importsMemory(module)) throw new Error("fromModule takes the single-threaded build; start the threaded one with WasmBackend.startThreads");
    return new WasmBackend(instantiateWasmKernels(module));
  }

  /** The threaded build over a new shared memory, with threads - 1 helpers; resolves once they run (or at the timeout). */
  static async startThreads(module: WasmModule, threads: number, spawnHelper: WasmHelperSpawner, startTimeoutMs = 30000): Promise<WasmBackend> {
    if (!importsMemory(module)) throw new Error("startThreads takes the threaded build (bert-ts-kernels-threads.wasm)");
    const k = instantiateWasmKernels(module);
    const backend = new WasmBackend(k);
    k.bt_set_threads(threads);
    try {
      for (let index = 1; index < threads; index++) {
        const stackLo = k.bt_alloc(HELPER_STACK_BYTES) >>> 0;
        if (!stackLo) throw new RangeError("The WASM backend could not allocate a helper's stack");
        backend.helpers.push(spawnHelper({ module, memory: k.memory, index, stackLo, stackHi: stackLo + HELPER_STACK_BYTES }));
      }
      const until = Date.now() + startTimeoutMs;
      while (k.bt_threads() < threads && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    } catch (e) {
      backend.dispose();
      throw e;
    }
    return backend;
  }

  /** Micro-tile and blocking of the GEMM kernel, e.g. "4x8 kc=256 mc=64". */
  get tiles(): string {
    const t = (i: number) => this.k.bt_tile(i);
    return `${t(0)}x${t(1)} kc=${t(2)} mc=${t(3)}`;
  }

  /** Bytes of linear memory the module holds (weights, copy area, heap). */
  get memoryBytes(): number {
    return this.k.memory.buffer.byteLength;
  }

  // --- linear memory ------------------------------------------------------------------------------

  /**
   * Reserves the copy area for `sizes` (bytes each, 64-byte aligned) and returns their addresses.
   * The area only grows; growing it may grow memory, so views are made after this.
   */
  private reserve(sizes: number[]): number[] {
    let total = 0;
    const offsets = sizes.map((s) => {
      const at = total;
      total += Math.ceil(s / 64) * 64;
      return at;
    });
    if (total > this.areaBytes) {
      // Doubling (capped at 64 MiB of slack) so that slowly growing batches do not reallocate each call.
      const want = Math.max(total, Math.min(2 * this.areaBytes, total + (64 << 20)));
      if (this.areaPtr) this.k.bt_free(this.areaPtr);
      this.areaPtr = 0;
      this.areaBytes = 0;
      const ptr = this.k.bt_alloc(want) >>> 0;
      if (!ptr) throw new RangeError(`The WASM backend could not allocate ${want} bytes of linear memory (4 GiB at most)`);
      this.areaPtr = ptr;
      this.areaBytes = want;
    }
    return offsets.map((o) => this.areaPtr + o);
  }

  private put(ptr: number, a: Input): void {
    const view = new (a.constructor as new (b: ArrayBuffer, o: number, n: number) => Input)(this.k.memory.buffer, ptr, a.length);
    view.set(a);
  }

  private get(ptr: number, out: Float32Array): void {
    out.set(new Float32Array(this.k.memory.buffer, ptr, out.length));
  }

  // --- Backend ------------------------------------------------------------------------------------

  prepareLinear(weight: WeightValues, bias: Float32Array | null, outFeatures: number, inFeatures: number): LinearParams {
    if (weightLength(weight) !== outFeatures * inFeatures) {
      throw new Error(`Expected ${outFeatures * inFeatures} values for the weight but received ${weightLength(weight)}`);
    }
    if (bias) checkLength("the bias", bias, outFeatures);
    // The weight goes in as stored (half precision is converted while packing), through a block of
    // its own: a vocabulary-sized decoder would otherwise leave the copy area that large for good.
    const values = weight instanceof Float32Array ? weight : weight.bits;
    const format = weight instanceof Float32Array ? 0 : weight.format === "f16" ? 1 : 2;
    const wBytes = values.byteLength;
    const tmp = this.k.bt_alloc(wBytes + (bias ? bias.byteLength + 64 : 0)) >>> 0;
    if (!tmp) throw new RangeError(`The WASM backend could not allocate ${wBytes} bytes for a ${outFeatures}x${inFeatures} weight`);
    try {
      const biasPtr = bias ? tmp + Math.ceil(wBytes / 64) * 64 : 0;
      this.put(tmp, values);
      if (bias) this.put(biasPtr, bias);
      const handle = this.k.bt_pack_linear(tmp, format, biasPtr, outFeatures, inFeatures) >>> 0;
      if (!handle) throw new RangeError(`The WASM backend ran out of linear memory packing a ${outFeatures}x${inFeatures} weight`);
      const params = new WasmLinear(inFeatures, outFeatures, handle, this);
      if (this.prepared.length >= 64 && this.prepared.length % 64 === 0) this.prepared = this.prepared.filter((r) => r.deref() !== undefined);
      this.prepared.push(new WeakRef(params));
      this.finalizer.register(params, handle, params);
      return params;
    } finally {
      this.k.bt_free(tmp);
    }
  }

  linear(x: Float32Array, rows: number, params: LinearParams, activation: Activation = "none", out?: Float32Array): Float32Array {
    if (!(params instanceof WasmLinear) || params.owner !== this) throw new Error("Expected LinearParams prepared by this wasm backend");
    if (!params.handle) throw new Error("These LinearParams were freed by dispose()");
    checkLength("linear's input", x, rows * params.inFeatures);
    const code = ACTIVATIONS[activation];
    if (code === undefined) throw new Error(`Unknown activation: ${String(activation)}`);
    const y = output(out, rows * params.outFeatures);
    if (rows === 0) return y;
    const [xp, yp] = this.reserve([x.byteLength, y.byteLength]);
    this.put(xp, x);
    this.k.bt_linear(params.handle, xp, rows, yp, code);
    this.get(yp, y);
    return y;
  }

  linearAddLayerNorm(x: Float32Array, rows: number, params: LinearParams, residual: Float32Array, norm: LayerNormParams, out?: Float32Array): Float32Array {
    return linearThenAddLayerNorm(this, x, rows, params, residual, norm, out);
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
    if (rows === 0) return y;
    const [xp, rp, gp, bp, yp] = this.reserve([x.byteLength, residual ? residual.byteLength : 0, gamma.byteLength, beta.byteLength, y.byteLength]);
    this.put(xp, x);
    if (residual) this.put(rp, residual);
    this.put(gp, gamma);
    this.put(bp, beta);
    this.k.bt_add_layernorm(xp, residual ? rp : 0, rows, cols, gp, bp, eps, yp);
    this.get(yp, y);
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
    checkSeqStarts(seqStarts);
    const hidden = numHeads * headDim;
    const rows = seqStarts[seqStarts.length - 1];
    checkLength("qkv", qkv, rows * 3 * hidden);
    const context = output(out, rows * hidden);
    const nseq = seqStarts.length - 1;
    if (nseq <= 0 || rows === 0) return wantProbs ? { context, probs: [] } : { context };
    const bias = positionBias ? positionBiasByDistance(positionBias, numHeads, seqStarts) : null;
    let totalProbs = 0;
    if (wantProbs) {
      for (let s = 0; s < nseq; s++) totalProbs += numHeads * (seqStarts[s + 1] - seqStarts[s]) ** 2;
    }
    const [qp, sp, cp, pp, bp] = this.reserve([qkv.byteLength, seqStarts.byteLength, context.byteLength, totalProbs * 4, bias ? bias.byteLength : 0]);
    this.put(qp, qkv);
    this.put(sp, seqStarts);
    if (bias) this.put(bp, bias);
    this.k.bt_attention(qp, sp, nseq, numHeads, headDim, scale, cp, wantProbs ? pp : 0, bias ? bp : 0, positionBias?.maxDistance ?? 0);
    this.get(cp, context);
    if (!wantProbs) return { context };
    const all = new Float32Array(totalProbs);
    this.get(pp, all);
    const probs: Float32Array[] = [];
    let off = 0;
    for (let s = 0; s < nseq; s++) {
      const n = numHeads * (seqStarts[s + 1] - seqStarts[s]) ** 2;
      probs.push(all.subarray(off, off + n));
      off += n;
    }
    return { context, probs };
  }

  meanPool(x: Float32Array, seqStarts: Int32Array, width: number, out?: Float32Array): Float32Array {
    return meanPoolRows(x, seqStarts, width, out);
  }

  embeddingLayerNorm(tables: EmbeddingTables, ids: Int32Array, typeIds: Int32Array, positionIds: Int32Array, out?: Float32Array): Float32Array {
    return gatherEmbeddingLayerNorm(this, tables, ids, typeIds, positionIds, out);
  }

  firstRowAttention(
    qkv: Float32Array,
    seqStarts: Int32Array,
    numHeads: number,
    headDim: number,
    scale: number,
    positionBias?: PositionBias,
  ): Float32Array {
    checkSeqStarts(seqStarts);
    const rows = seqStarts[seqStarts.length - 1];
    checkLength("qkv", qkv, rows * 3 * numHeads * headDim);
    const nseq = seqStarts.length - 1;
    if (positionBias) {
      let maxLen = 0;
      for (let s = 0; s < nseq; s++) maxLen = Math.max(maxLen, seqStarts[s + 1] - seqStarts[s]);
      checkPositionBias(positionBias, numHeads, maxLen);
    }
    const weights = new Float32Array(numHeads * rows);
    if (nseq <= 0 || rows === 0) return weights;
    const b = positionBias;
    const [qp, sp, op, tp, kp] = this.reserve([qkv.byteLength, seqStarts.byteLength, weights.byteLength, b ? b.table.byteLength : 0, b ? b.bucketOfDistance.byteLength : 0]);
    this.put(qp, qkv);
    this.put(sp, seqStarts);
    if (b) {
      this.put(tp, b.table);
      this.put(kp, b.bucketOfDistance);
    }
    this.k.bt_first_row_attention(qp, sp, nseq, numHeads, headDim, scale, b ? tp : 0, b ? kp : 0, b?.maxDistance ?? 0, op);
    this.get(op, weights);
    return weights;
  }

  /** The vectorised activation alone, in place (kernel tests). */
  activate(y: Float32Array, activation: Activation): void {
    const code = ACTIVATIONS[activation];
    if (code === undefined) throw new Error(`Unknown activation: ${String(activation)}`);
    if (y.length === 0) return;
    const [p] = this.reserve([y.byteLength]);
    this.put(p, y);
    this.k.bt_activate(p, y.length, code);
    this.get(p, y);
  }

  /** Frees every prepared weight and the copy area and stops helper threads; layers prepared here cannot run after this. */
  dispose(): void {
    for (const ref of this.prepared) {
      const p = ref.deref();
      if (!p || !p.handle) continue;
      this.finalizer.unregister(p);
      this.k.bt_free_linear(p.handle);
      p.handle = 0;
    }
    this.prepared = [];
    if (this.areaPtr) this.k.bt_free(this.areaPtr);
    this.areaPtr = 0;
    this.areaBytes = 0;
    // Helpers stop; the caller's thread alone runs whatever comes after.
    this.k.bt_set_threads(1);
    for (const h of this.helpers) void h.terminate();
    this.helpers = [];
  }
}
