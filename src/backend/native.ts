/**
 * The native backend (C++ kernels via N-API). Placeholder until the addon lands: reports that it is
 * not built, so getBackend() falls back to the reference backend.
 */
import type { Backend } from "./backend.js";

export function tryLoadNativeBackend(): { backend?: Backend; reason: string } {
  return { reason: "the native addon is not part of this build yet" };
}
