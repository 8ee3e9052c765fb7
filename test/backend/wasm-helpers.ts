/**
 * Shared by the wasm backend tests: loading the kernels built by `npm run build:wasm`. When they are
 * not built (no emscripten here) the tests are skipped with that reason; in CI, or with
 * BERT_TS_REQUIRE_WASM=1, a missing build fails instead (CI installs emscripten, so a missing .wasm
 * there is a bug, not a reason to skip).
 */
import { tryLoadWasmBackend } from "../../src/backend/wasm-node.js";
import type { WasmBackend } from "../../src/backend/wasm.js";

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
