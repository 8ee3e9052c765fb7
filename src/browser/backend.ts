/**
 * The browser's stand-in for src/backend/index.ts: no native addon here. The TypeScript reference
 * backend runs until useBackend() installs a faster one (the WASM kernels, once loaded).
 */
import type { Backend } from "../backend/backend.js";
import { ReferenceBackend } from "../backend/reference.js";

export type BackendName = "reference" | "native";
export type { Backend } from "../backend/backend.js";

let chosen: Backend | undefined;

/** Makes `backend` the default of every model loaded afterwards. */
export function useBackend(backend: Backend): void {
  chosen = backend;
}

export function getBackend(name?: BackendName): Backend {
  if (name === "native") throw new Error("The native backend is a Node addon; the browser bundle has the reference backend and WASM kernels");
  if (name === "reference") return new ReferenceBackend();
  chosen ??= new ReferenceBackend();
  return chosen;
}
