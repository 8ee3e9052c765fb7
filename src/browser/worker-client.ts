/**
 * The page's side of the bert-ts Worker: the same load/embed calls as SentenceEncoder, run in a
 * module Worker so the page stays responsive while the model loads and embeds.
 *
 *   const encoder = await WorkerSentenceEncoder.load("https://…/resolve/main");
 *   const vectors = await encoder.embed(["a text", "another"]);
 */
import type { DownloadProgress, ModelLocation } from "../io/model-source.js";
import type { EmbedInput, EmbeddingInfo } from "../pipelines/sentence-encoder.js";
import { blobsByPath } from "./model-source.js";
import type { WorkerEmbedOptions, WorkerEncoderOptions, WorkerReply, WorkerRequest } from "./worker-protocol.js";

export interface WorkerLoadOptions extends WorkerEncoderOptions {
  /** The worker bundle (default: bert-ts-worker.js beside this bundle). */
  workerUrl?: string | URL;
  onDownload?: (progress: DownloadProgress) => void;
}

export interface WorkerEmbedCallOptions extends WorkerEmbedOptions {
  onProgress?: (done: number, total: number) => void;
}

/** A request before it gets its id (Omit of each member of the union). */
type RequestBody = WorkerRequest extends infer R ? (R extends WorkerRequest ? Omit<R, "id"> : never) : never;

interface Pending {
  resolve(reply: WorkerReply): void;
  reject(err: Error): void;
  onReply?(reply: WorkerReply): void;
}

export class WorkerSentenceEncoder {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  /** Set once loaded: the encoder's pooling, dimension and limits. */
  info!: EmbeddingInfo;
  /** The root the model was mounted at inside the worker, and the kernels it runs on. */
  dir = "";
  backend = "";

  private constructor(private readonly worker: Worker) {
    worker.onmessage = (event: MessageEvent<WorkerReply>) => this.receive(event.data);
    worker.onerror = (event) => {
      const err = new Error(`bert-ts worker failed: ${event.message}`);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    };
  }

  static async load(location: ModelLocation, options: WorkerLoadOptions = {}): Promise<WorkerSentenceEncoder> {
    const { workerUrl, onDownload, ...encoderOptions } = options;
    const worker = new Worker(workerUrl ?? new URL("./bert-ts-worker.js", import.meta.url), { type: "module" });
    const client = new WorkerSentenceEncoder(worker);
    // File objects lose webkitRelativePath on the way to the worker: send them keyed by that path.
    const sent = typeof location === "string" ? new URL(location, globalThis.location?.href).href : Object.fromEntries(blobsByPath(location).byPath);
    const reply = await client.call({ kind: "load", location: sent, options: encoderOptions }, (r) => {
      if (r.kind === "download") onDownload?.(r.progress);
    });
    if (reply.kind !== "loaded") throw new Error(`bert-ts worker: unexpected reply ${reply.kind}`);
    client.info = reply.info;
    client.dir = reply.dir;
    client.backend = reply.backend;
    return client;
  }

  async embed(texts: string, options?: WorkerEmbedCallOptions): Promise<Float32Array>;
  async embed(texts: readonly EmbedInput[], options?: WorkerEmbedCallOptions): Promise<Float32Array[]>;
  async embed(texts: string | readonly EmbedInput[], options: WorkerEmbedCallOptions = {}): Promise<Float32Array | Float32Array[]> {
    const { onProgress, ...embedOptions } = options;
    const reply = await this.call({ kind: "embed", texts: typeof texts === "string" ? [texts] : texts, options: embedOptions }, (r) => {
      if (r.kind === "progress") onProgress?.(r.done, r.total);
    });
    if (reply.kind !== "embedded") throw new Error(`bert-ts worker: unexpected reply ${reply.kind}`);
    return typeof texts === "string" ? reply.vectors[0] : reply.vectors;
  }

  /** Stops the worker; pending calls fail. */
  dispose(): void {
    this.worker.terminate();
    for (const p of this.pending.values()) p.reject(new Error("bert-ts worker was disposed"));
    this.pending.clear();
  }

  private call(request: RequestBody, onReply?: (reply: WorkerReply) => void): Promise<WorkerReply> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onReply });
      this.worker.postMessage({ ...request, id } as WorkerRequest);
    });
  }

  private receive(reply: WorkerReply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    if (reply.kind === "download" || reply.kind === "progress") {
      p.onReply?.(reply);
      return;
    }
    this.pending.delete(reply.id);
    if (reply.kind === "error") {
      const err = new Error(reply.message);
      err.name = reply.name;
      p.reject(err);
    } else {
      p.resolve(reply);
    }
  }
}
