/**
 * The browser's stand-in for src/io/packed-weight-cache.ts: the WASM kernels compute in float32
 * only, so there are no int8 / bf16 packed weights to cache; the model is built as it is.
 */
import type { Backend } from "../backend/backend.js";

export async function withPackedWeightCache<T>(_backend: Backend, _dir: string, build: () => T, _reads?: unknown): Promise<T> {
  return build();
}
