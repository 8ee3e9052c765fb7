/**
 * Loading the WebAssembly backend in Node: the kernels are read from the package's wasm/ folder
 * (or BERT_TS_WASM=path) and compiled synchronously, so getBackend("wasm") / BERT_TS_BACKEND=wasm
 * work where the Backend is chosen synchronously. Browsers use WasmBackend.create(url) instead.
 */
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { helperScript, WasmBackend, wasmKernelsUrl, wasmThreadedKernelsUrl, type WasmBackendOptions, type WasmHelperSpawner } from "./wasm.js";

/** Path of the kernels this process loads. */
export function wasmKernelsPath(): string {
  return process.env.BERT_TS_WASM || fileURLToPath(wasmKernelsUrl());
}

let compiled: { path: string; module: object } | undefined;

/** The backend (a fresh instance, with its own linear memory, over a module compiled once), or why it cannot load (not built, or not loadable). */
export function tryLoadWasmBackend(): { backend?: WasmBackend; reason: string } {
  const path = wasmKernelsPath();
  if (!existsSync(path)) {
    return { reason: `the WASM kernels are not built (no ${path}; \`npm run build:wasm\` builds them with emscripten)` };
  }
  try {
    if (compiled?.path !== path) {
      const api = (globalThis as unknown as { WebAssembly: { Module: new (b: Uint8Array) => object } }).WebAssembly;
      compiled = { path, module: new api.Module(readFileSync(path)) };
    }
    return { backend: WasmBackend.fromModule(compiled.module), reason: `loaded ${path}` };
  } catch (e) {
    return { reason: `could not load ${path}: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** Helpers as worker_threads running helperScript("node"); unref'd, so they never keep the process alive. */
export function nodeHelperSpawner(): WasmHelperSpawner {
  return (init) => {
    const worker = new Worker(helperScript("node"), { eval: true, workerData: init });
    worker.unref();
    return worker;
  };
}

/** The wasm backend from the package's files, threaded when threads > 1 (BERT_TS_WASM_THREADED=path overrides that build). */
export async function loadWasmBackend(options: WasmBackendOptions = {}): Promise<WasmBackend> {
  const threadedPath = process.env.BERT_TS_WASM_THREADED || fileURLToPath(wasmThreadedKernelsUrl());
  return WasmBackend.create(readFileSync(wasmKernelsPath()), {
    spawnHelper: nodeHelperSpawner(),
    ...options,
    threadedSource: options.threadedSource ?? ((options.threads ?? 1) > 1 ? readFileSync(threadedPath) : undefined),
  });
}
