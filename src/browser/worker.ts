/**
 * The bert-ts Worker: loads one SentenceEncoder and embeds on request, so the page's main thread
 * only posts texts and receives vectors (worker-client.ts is the page's side).
 */
import { SentenceEncoder } from "../pipelines/sentence-encoder.js";
import type { WorkerReply, WorkerRequest } from "./worker-protocol.js";

interface WorkerScope {
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(message: WorkerReply, transfer?: Transferable[]): void;
}
const scope = self as unknown as WorkerScope;

let encoder: SentenceEncoder | undefined;
// One request at a time, in order: a second embed waits for the first instead of interleaving.
let queue: Promise<void> = Promise.resolve();

scope.onmessage = (event) => {
  const request = event.data;
  queue = queue.then(() => handle(request)).catch((err: unknown) => {
    const e = err instanceof Error ? err : new Error(String(err));
    scope.postMessage({ id: request.id, kind: "error", name: e.name, message: e.message });
  });
};

async function handle(request: WorkerRequest): Promise<void> {
  if (request.kind === "load") {
    const { revision, browserCache, ...options } = request.options;
    encoder = await SentenceEncoder.load(request.location, {
      ...options,
      resolve: {
        revision,
        browserCache,
        onDownload: (progress) => scope.postMessage({ id: request.id, kind: "download", progress }),
      },
    });
    scope.postMessage({ id: request.id, kind: "loaded", info: encoder.info, dir: encoder.modelDir, backend: encoder.model.backend.name });
    return;
  }
  if (!encoder) throw new Error("embed before load: call WorkerSentenceEncoder.load first");
  const vectors = await encoder.embed(request.texts, {
    ...request.options,
    onProgress: (done, total) => scope.postMessage({ id: request.id, kind: "progress", done, total }),
  });
  scope.postMessage({ id: request.id, kind: "embedded", vectors }, vectors.map((v) => v.buffer as ArrayBuffer));
}
