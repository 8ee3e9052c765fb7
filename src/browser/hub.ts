/**
 * The browser's stand-in for src/io/hub.ts: a model is a base URL or a set of File/ArrayBuffer
 * objects (model-source.ts mounts its files), or the root of a model mounted before.
 */
import type { ResolveOptions, ResolvedModel } from "../io/hub.js";
import type { ModelLocation } from "../io/model-source.js";
import { defaultBackendReady } from "./backend.js";
import { mountModel } from "./model-source.js";

export type { LookedIn, ResolveOptions, ResolvedModel } from "../io/hub.js";

export class ModelNotFoundError extends Error {
  constructor(
    readonly model: string,
    readonly looked: { place: string; result: string }[],
    options?: { cause?: unknown },
  ) {
    super(`Cannot find model "${model}". Looked in:\n${looked.map((l) => `  - ${l.place}: ${l.result}`).join("\n")}`, options);
    this.name = "ModelNotFoundError";
  }
}

export async function resolveModel(location: ModelLocation, options: ResolveOptions = {}): Promise<ResolvedModel> {
  if (!options.tokenizerOnly) await defaultBackendReady();
  const mounted = await mountModel(location, {
    onDownload: options.onDownload,
    browserCache: options.browserCache,
    revision: options.revision,
    tokenizerOnly: options.tokenizerOnly,
    fetch: options.fetch,
  });
  return {
    dir: mounted.root,
    source: typeof location === "string" && mounted.root !== location ? "download" : "path",
    ...(mounted.id !== undefined ? { id: mounted.id } : {}),
    ...(mounted.revision !== undefined ? { revision: mounted.revision } : {}),
  };
}

/**
 * Node's resolveModelFolder looks a hub id up (models dir, HF cache, hub); in the browser a name
 * already says where the files are (a base URL or a mounted folder), and openModelFolder mounts it.
 */
export async function resolveModelFolder(nameOrPath: string, _options: ResolveOptions = {}): Promise<string> {
  return nameOrPath;
}
