/** Messages between a page and the bert-ts Worker (worker.ts / worker-client.ts). */
import type { DownloadProgress, ModelLocation } from "../io/model-source.js";
import type { EmbedInput, EmbedOptions, EmbeddingInfo, SentenceEncoderOptions } from "../pipelines/sentence-encoder.js";

/** Options that can cross postMessage: no functions, no backend object. */
export type WorkerEncoderOptions = Omit<SentenceEncoderOptions, "backend" | "resolve" | "resolved"> & { revision?: string; browserCache?: boolean };
export type WorkerEmbedOptions = Omit<EmbedOptions, "onProgress" | "onTruncate">;

export type WorkerRequest =
  | { id: number; kind: "load"; location: ModelLocation; options: WorkerEncoderOptions }
  | { id: number; kind: "embed"; texts: readonly EmbedInput[]; options: WorkerEmbedOptions };

export type WorkerReply =
  | { id: number; kind: "loaded"; info: EmbeddingInfo; dir: string; backend: string }
  | { id: number; kind: "embedded"; vectors: Float32Array[] }
  | { id: number; kind: "download"; progress: DownloadProgress }
  | { id: number; kind: "progress"; done: number; total: number }
  | { id: number; kind: "error"; name: string; message: string };
