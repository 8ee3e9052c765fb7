/**
 * Shared by the wasm backend tests: loading the kernels built by `npm run build:wasm`. When they are
 * not built (no emscripten here) the tests are skipped with that reason; in CI, or with
 * BERT_TS_REQUIRE_WASM=1, a missing build fails instead (CI installs emscripten, so a missing .wasm
 * there is a bug, not a reason to skip).
 */
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { loadWasmBackend, tryLoadWasmBackend } from "../../src/backend/wasm-node.js";
import { wasmThreadedKernelsUrl, type WasmBackend } from "../../src/backend/wasm.js";

const first = tryLoadWasmBackend();
if (!first.backend && (process.env.CI === "true" || process.env.BERT_TS_REQUIRE_WASM === "1")) {
  throw new Error(`the WASM kernels did not load, and CI / BERT_TS_REQUIRE_WASM=1 require them: ${first.reason}`);
}

/** For node:test's { skip }: false when the kernels load, else why not. */
export const skipWasm: string | false = first.backend ? false : `wasm backend unavailable: ${first.reason}`;

/** A fresh backend instance (its own linear memory). */
export function wasmBackend(): WasmBackend {
  if (!first.backend) throw new Error(first.reason);
  const r = tryLoadWasmBackend();
  if (!r.backend) throw new Error(r.reason);
  return r.backend;
}

const threadedPath = fileURLToPath(wasmThreadedKernelsUrl());
/** For { skip }: false when the threaded build is there (CI requires it like the single-threaded one). */
export const skipWasmThreads: string | false = skipWasm || (existsSync(threadedPath) ? false : `the threaded WASM kernels are not built (no ${threadedPath})`);
if (skipWasmThreads && !skipWasm && (process.env.CI === "true" || process.env.BERT_TS_REQUIRE_WASM === "1")) throw new Error(skipWasmThreads);

/** The threaded build with `threads` threads (caller included), helpers in worker_threads. */
export function threadedWasmBackend(threads: number): Promise<WasmBackend> {
  return loadWasmBackend({ threads });
}
