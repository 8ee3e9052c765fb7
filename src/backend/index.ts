/**
 * Chooses the compute backend: the native addon when it is built and loads, else the TypeScript
 * reference (with one framed notice per process on stderr saying why it is slow and how to fix it).
 * BERT_TS_BACKEND=reference|native|wasm forces one (no notice); forcing native or wasm when it cannot
 * load is an error. "wasm" is the WebAssembly build of the same kernels (the browser's backend), run
 * in Node: never chosen automatically. The dtype is the caller's, else BERT_TS_DTYPE (the CLI's --dtype), else float32; bf16 and
 * int8 need the native backend.
 */
import { parseDtype, type Backend, type Dtype } from "./backend.js";
import { ReferenceBackend } from "./reference.js";
import { loadedWordPieceTable, NativeBackend, tryLoadNativeBackend } from "./native.js";
import type { WordPieceAccelerator, WordPieceTableSpec } from "../tokenizers/accelerator.js";
import { tryLoadWasmBackend } from "./wasm-node.js";

export type BackendName = "reference" | "native" | "wasm";
export type { Backend, Dtype } from "./backend.js";

let cached: Backend | undefined;
const cachedLowp = new Map<Dtype, Backend>();

export function getBackend(name?: BackendName, options: { dtype?: Dtype } = {}): Backend {
  const requested = name ?? parseEnv(process.env.BERT_TS_BACKEND);
  const dtype = options.dtype ?? (process.env.BERT_TS_DTYPE ? parseDtype(process.env.BERT_TS_DTYPE, "BERT_TS_DTYPE") : "float32");
  if (dtype !== "float32") {
    if (requested === "reference" || requested === "wasm") throw new Error(`dtype ${dtype} needs the native backend; the ${requested} backend computes in float32 only`);
    const hit = cachedLowp.get(dtype);
    if (hit) return hit;
    const native = tryLoadNativeBackend(dtype);
    if (!native.backend) throw new Error(`dtype ${dtype} needs the native backend, which could not be loaded: ${native.reason}`);
    cachedLowp.set(dtype, native.backend);
    return native.backend;
  }
  if (requested === "reference") return new ReferenceBackend();
  if (requested === "wasm") {
    const wasm = tryLoadWasmBackend();
    if (!wasm.backend) throw new Error(`The wasm backend was requested but could not be loaded: ${wasm.reason}`);
    return wasm.backend;
  }
  if (cached && requested === undefined) return cached;
  const native = tryLoadNativeBackend();
  if (native.backend) {
    if (requested === undefined) cached = native.backend;
    return native.backend;
  }
  if (requested === "native") {
    throw new Error(`BERT_TS_BACKEND=native but the native addon could not be loaded: ${native.reason}`);
  }
  warnSlowFallback(native.reason);
  cached = new ReferenceBackend();
  return cached;
}

/**
 * A native word loop for a WordPiece tokenizer when `backend` is the native one (its addon is loaded
 * in this thread), unless BERT_TS_NATIVE_TOKENIZER=0; else undefined and the tokenizer's own
 * JavaScript does the work (the browser build's counterpart always says undefined).
 */
export function wordPieceAcceleratorFor(backend: Backend, spec: WordPieceTableSpec): WordPieceAccelerator | undefined {
  if (!(backend instanceof NativeBackend) || process.env.BERT_TS_NATIVE_TOKENIZER === "0") return undefined;
  return loadedWordPieceTable(spec);
}

function parseEnv(v: string | undefined): BackendName | undefined {
  if (v === undefined || v === "" || v === "auto") return undefined;
  if (v === "reference" || v === "native" || v === "wasm") return v;
  throw new Error(`Expected BERT_TS_BACKEND to be "reference", "native", "wasm" or "auto" but received "${v}"`);
}

/**
 * Holds the pid of the process that gave the notice: worker threads share the pid and inherit a copy
 * of the environment, so they stay quiet; child processes have their own pid and still warn.
 */
const WARNED_ENV = "BERT_TS_SLOW_BACKEND_WARNED";

/**
 * The fallback costs ~100x: say so in a block that stands out among other output, once per process
 * (worker threads included), with the commands that fix it.
 */
export function slowFallbackNotice(reason: string): string {
  const rule = "=".repeat(78);
  return [
    rule,
    "bert-ts: WARNING: running on the TypeScript reference backend, about 100x slower than native.",
    `bert-ts: why: ${reason}`,
    "bert-ts: fix: `npm rebuild bert-ts` (uses the prebuilt binary for linux-x64, else compiles: needs",
    "bert-ts:      g++ >= 9, make and python3), or `npm run build:native` inside the bert-ts folder.",
    "bert-ts: to choose the slow backend knowingly and silence this: BERT_TS_BACKEND=reference.",
    rule,
  ].join("\n") + "\n";
}

function warnSlowFallback(reason: string): void {
  if (process.env[WARNED_ENV] === String(process.pid)) return;
  process.env[WARNED_ENV] = String(process.pid);
  process.stderr.write(slowFallbackNotice(reason));
}
