/**
 * The HTTP thread's handle on the inference worker: starts it, waits until its models are loaded,
 * sends batches and matches results to them by id. A worker that dies fails everything in flight
 * and marks the engine unhealthy (/health answers 503).
 */
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import type { BatchRequest, BatchResult, WorkerConfig, WorkerMessage, WorkerReady } from "./protocol.js";

/**
 * The worker's entry code. Compiled (dist/) it imports worker.js. Run from sources under tsx
 * (tests, benches) it imports worker.ts, registering tsx in the worker first: Node 20 does not
 * pass `--import tsx` on to worker threads, and refuses a .ts file as a worker's main script.
 */
function workerBootstrap(): string {
  const fromSources = import.meta.url.endsWith(".ts");
  const entry = JSON.stringify(pathToFileURL(fileURLToPath(new URL(`./worker${fromSources ? ".ts" : ".js"}`, import.meta.url))).href);
  if (!fromSources) return `import(${entry});`;
  const tsx = JSON.stringify(import.meta.resolve("tsx/esm/api"));
  return `import(${tsx}).then((api) => api.register()).then(() => import(${entry}));`;
}

type Pending = { resolve: (r: BatchResult) => void; reject: (e: Error) => void };

export class InferenceEngine {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private failure: string | undefined;
  private stopping = false;

  private constructor(
    private readonly worker: Worker,
    readonly models: WorkerReady,
  ) {
    worker.on("message", (m: WorkerMessage) => this.onMessage(m));
    worker.on("error", (err) => this.fail(`inference worker crashed: ${err.message}`));
    worker.on("exit", (code) => this.fail(`inference worker exited with code ${code}`));
  }

  /** Starts the worker and resolves once its models are loaded. */
  static async start(config: WorkerConfig): Promise<InferenceEngine> {
    const worker = new Worker(workerBootstrap(), { eval: true, workerData: config });
    let detach = () => {};
    const ready = await new Promise<WorkerReady>((resolve, reject) => {
      const onMessage = (m: WorkerMessage) => {
        if (m.type === "ready") resolve(m);
        else if (m.type === "load-failed") reject(new Error(m.message));
      };
      const onExit = (code: number) => reject(new Error(`inference worker exited with code ${code} while loading`));
      worker.on("message", onMessage);
      worker.on("error", reject);
      worker.on("exit", onExit);
      // Only our own listeners: removeAllListeners() would also drop Node's, and messages stop.
      detach = () => {
        worker.off("message", onMessage);
        worker.off("error", reject);
        worker.off("exit", onExit);
      };
    }).catch(async (err: unknown) => {
      detach();
      await worker.terminate();
      throw err;
    });
    detach();
    return new InferenceEngine(worker, ready);
  }

  /** Why the engine cannot serve, or undefined when it can. */
  get unhealthyReason(): string | undefined {
    return this.failure;
  }

  run(batch: Omit<BatchRequest, "type" | "id">): Promise<BatchResult> {
    if (this.failure) return Promise.reject(new Error(this.failure));
    const id = this.nextId++;
    const message: BatchRequest = { type: "batch", id, ...batch };
    return new Promise<BatchResult>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage(message, [batch.ids.buffer as ArrayBuffer, batch.typeIds.buffer as ArrayBuffer]);
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.worker.terminate();
  }

  private onMessage(m: WorkerMessage): void {
    if (m.type !== "result" && m.type !== "failed") return;
    const p = this.pending.get(m.id);
    if (!p) return;
    this.pending.delete(m.id);
    if (m.type === "result") p.resolve(m);
    else p.reject(new Error(m.message));
  }

  private fail(reason: string): void {
    if (this.stopping) reason = "the server is shutting down";
    this.failure ??= reason;
    for (const p of this.pending.values()) p.reject(new Error(reason));
    this.pending.clear();
  }
}
