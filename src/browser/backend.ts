/**
 * The browser's stand-in for src/backend/index.ts: no native addon here. The default is the WASM
 * SIMD build of the kernels (wasm/*.wasm, copied beside the bundle), threaded when the page is
 * cross-origin isolated (COOP/COEP) and single-threaded otherwise, chosen at run time; the
 * TypeScript reference backend is the fallback when WebAssembly SIMD cannot load. The kernels load
 * asynchronously: the first model load waits for them (defaultBackendReady), or call loadWasmBackend
 * / useBackend yourself.
 */
import type { Backend } from "../backend/backend.js";
import { ReferenceBackend } from "../backend/reference.js";
import { WasmBackend, browserHelperSpawner, threadsUnavailableReason, type WasmSource } from "../backend/wasm.js";

export type BackendName = "reference" | "native" | "wasm";
export type { Backend } from "../backend/backend.js";

let chosen: Backend | undefined;
let pending: Promise<Backend> | undefined;
/** Why the default is not the WASM backend (or runs it single-threaded), when that is so. */
export let backendNotice: string | undefined;

/** Makes `backend` the default of every model loaded afterwards. */
export function useBackend(backend: Backend): void {
  chosen = backend;
}

export function getBackend(name?: BackendName, options: { dtype?: string } = {}): Backend {
  if (options.dtype !== undefined && options.dtype !== "float32") throw new Error(`dtype ${options.dtype} needs the native backend (Node); the browser computes in float32`);
  if (name === "native") throw new Error("The native backend is a Node addon; in the browser use the WASM backend (loadWasmBackend) or the reference backend");
  if (name === "reference") return new ReferenceBackend();
  if (name === "wasm" && !(chosen instanceof WasmBackend)) throw new Error("The WASM backend is not loaded yet: await loadWasmBackend() first");
  chosen ??= new ReferenceBackend();
  return chosen;
}

export interface WasmLoadOptions {
  /** The single-threaded kernels (default: bert-ts-kernels.wasm beside the bundle). */
  source?: WasmSource;
  /** The threaded kernels (default: bert-ts-kernels-threads.wasm beside the bundle). */
  threadedSource?: WasmSource;
  /** Threads, this one included. Default: navigator.hardwareConcurrency (at most 8) when the page is cross-origin isolated, else 1. */
  threads?: number;
}

/** Loads the WASM kernels and makes them the default backend. */
export async function loadWasmBackend(options: WasmLoadOptions = {}): Promise<WasmBackend> {
  const cannotThread = threadsUnavailableReason();
  const cores = (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? 1;
  const threads = options.threads ?? (cannotThread === undefined ? Math.max(1, Math.min(cores, 8)) : 1);
  const backend = await WasmBackend.create(options.source ?? new URL("./bert-ts-kernels.wasm", import.meta.url), {
    threads,
    ...(threads > 1 ? { threadedSource: options.threadedSource ?? new URL("./bert-ts-kernels-threads.wasm", import.meta.url), spawnHelper: browserHelperSpawner() } : {}),
  });
  backendNotice = backend.threadsFallbackReason ?? (threads === 1 && cannotThread ? `single-threaded: ${cannotThread}` : undefined);
  chosen = backend;
  return backend;
}

/** The default backend once it is settled: WASM when it loads, else the reference (with the reason in backendNotice). */
export function defaultBackendReady(): Promise<Backend> {
  if (chosen) return Promise.resolve(chosen);
  pending ??= loadWasmBackend().catch((err: unknown) => {
    backendNotice = `WASM kernels unavailable (${err instanceof Error ? err.message : String(err)}); using the TypeScript reference backend`;
    console.warn(`bert-ts: ${backendNotice}`);
    chosen ??= new ReferenceBackend();
    return chosen;
  });
  return pending;
}

/** No native addon in the browser: the tokenizer keeps its JavaScript word loop (src/backend/index.ts has the Node one). */
export function wordPieceAcceleratorFor(_backend: Backend, _spec: unknown): undefined {
  return undefined;
}
