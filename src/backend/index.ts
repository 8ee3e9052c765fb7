/**
 * Chooses the compute backend: the native addon when it is built and loads, else the TypeScript
 * reference (with one notice on stderr saying why it is slow). BERT_TS_BACKEND=reference|native|wasm
 * forces one; forcing native or wasm when it cannot load is an error. "wasm" is the WebAssembly build
 * of the same kernels (the browser's backend), run in Node: never chosen automatically. The dtype is the caller's, else
 * BERT_TS_DTYPE (the CLI's --dtype), else float32; bf16 and int8 need the native backend.
 */
import { parseDtype, type Backend, type Dtype } from "./backend.js";
import { ReferenceBackend } from "./reference.js";
import { tryLoadNativeBackend } from "./native.js";
import { tryLoadWasmBackend } from "./wasm-node.js";

export type BackendName = "reference" | "native" | "wasm";
export type { Backend, Dtype } from "./backend.js";

let cached: Backend | undefined;
const cachedLowp = new Map<Dtype, Backend>();
let warned = false;

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
  if (!warned) {
    warned = true;
    process.stderr.write(
      `bert-ts: native backend unavailable (${native.reason}); using the TypeScript reference backend, which is ~100x slower. ` +
        `Run \`npm run build:native\` to build it.\n`,
    );
  }
  cached = new ReferenceBackend();
  return cached;
}

function parseEnv(v: string | undefined): BackendName | undefined {
  if (v === undefined || v === "" || v === "auto") return undefined;
  if (v === "reference" || v === "native" || v === "wasm") return v;
  throw new Error(`Expected BERT_TS_BACKEND to be "reference", "native", "wasm" or "auto" but received "${v}"`);
}
