/**
 * The HTTP thread's handle on a pool of inference workers (worker_threads, each holding its own
 * copy of the model(s)): starts them, waits until each has loaded and warmed up, hands every batch
 * to an idle worker (batches wait in a FIFO when none is), and matches results by id.
 *
 * A worker that dies fails the batch it was running with WorkerDiedError (the batcher retries its
 * requests) and is restarted; a slot whose worker fails to load three times in a row stays down,
 * and only when every slot is down does the engine report itself unhealthy.
 *
 * A worker that does not answer a batch by its deadline (a forward pass that never returns) is a
 * hung worker: it is terminated, its batch fails with WorkerHungError (a WorkerDiedError: retried
 * the same way) and it is restarted like a dead one.
 */
import { fileURLToPath, pathToFileURL } from "node:url";
import { Worker } from "node:worker_threads";
import { releaseFreeNativeMemory } from "../backend/native.js";
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

/** The worker running a batch exited (crashed, was killed, or ran out of memory) before answering. */
export class WorkerDiedError extends Error {}

/** The worker running a batch did not answer by the batch's deadline; it was terminated and restarted. */
export class WorkerHungError extends WorkerDiedError {}

/** The worker answered the batch with an error (the forward pass threw). */
export class BatchFailedError extends Error {}

export interface EnginePoolOptions {
  workers: number;
  /** Native compute threads of each worker (BERT_TS_THREADS inside it). */
  threadsPerWorker: number;
}

type Job = { batch: BatchRequest; deadlineMs?: number; resolve: (r: BatchResult) => void; reject: (e: Error) => void };

interface Slot {
  index: number;
  worker?: Worker;
  /** The batch this worker is running. */
  job?: Job;
  state: "loading" | "idle" | "busy" | "down";
  loadFailures: number;
  /** Fires when the running batch is past its deadline. */
  watchdog?: NodeJS.Timeout;
  /** The worker was terminated by the watchdog (its exit is a hang, not a crash). */
  hung?: boolean;
}

const MAX_LOAD_FAILURES = 3;

/** Starts one worker and resolves with its ready message once its models are loaded and warm. */
async function spawnWorker(config: WorkerConfig, threads: number): Promise<{ worker: Worker; ready: WorkerReady }> {
  const worker = new Worker(workerBootstrap(), { eval: true, workerData: config, env: { ...process.env, BERT_TS_THREADS: String(threads) } });
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
  return { worker, ready };
}

export class InferenceEngine {
  private nextId = 1;
  private readonly slots: Slot[];
  private readonly waiting: Job[] = [];
  private failure: string | undefined;
  private stopping = false;
  /** Workers restarted after dying (for /metrics). */
  restarts = 0;
  /** Called whenever a worker becomes free with nothing waiting for it: the batcher sends more. */
  onIdle: () => void = () => {};
  /** Called after a worker died (for logs and metrics). */
  onWorkerDied: (index: number, reason: string) => void = () => {};
  /** Called when the watchdog terminates a hung worker (before its death is reported). */
  onWorkerHung: (index: number, reason: string) => void = () => {};

  private constructor(
    private readonly config: WorkerConfig,
    private readonly pool: EnginePoolOptions,
    readonly models: WorkerReady,
    workers: Worker[],
  ) {
    this.slots = workers.map((_, index) => ({ index, state: "loading", loadFailures: 0 }));
    workers.forEach((w, i) => this.attach(this.slots[i], w));
  }

  /** Starts the pool and resolves once every worker has loaded and warmed up. */
  static async start(config: WorkerConfig, pool: EnginePoolOptions = { workers: 1, threadsPerWorker: 1 }): Promise<InferenceEngine> {
    const started = await Promise.allSettled(Array.from({ length: pool.workers }, () => spawnWorker(config, pool.threadsPerWorker)));
    const failed = started.find((s) => s.status === "rejected");
    if (failed) {
      await Promise.all(started.map((s) => (s.status === "fulfilled" ? s.value.worker.terminate() : undefined)));
      throw failed.reason;
    }
    const ok = started.map((s) => (s as PromiseFulfilledResult<{ worker: Worker; ready: WorkerReady }>).value);
    return new InferenceEngine(config, pool, ok[0].ready, ok.map((s) => s.worker));
  }

  /** Why the engine cannot serve, or undefined when it can. */
  get unhealthyReason(): string | undefined {
    return this.failure;
  }

  get size(): number {
    return this.slots.length;
  }

  /** Workers loaded and able to take a batch now or after their current one. */
  get live(): number {
    return this.slots.filter((s) => s.state === "idle" || s.state === "busy").length;
  }

  /** Workers free for a batch right now (none are promised to waiting batches). */
  get idle(): number {
    return Math.max(0, this.slots.filter((s) => s.state === "idle").length - this.waiting.length);
  }

  /** Warm-up throughput of the first worker, in tokens per second (seeds the queue-wait estimate). */
  get warmupTokensPerSecond(): number {
    return this.models.warmupTokensPerSecond;
  }

  /**
   * Runs one batch on the first free worker. Its typed arrays are transferred (unusable afterwards).
   * With `deadlineMs`, a worker that has not answered that long after it started the batch is
   * treated as hung (WorkerHungError).
   */
  run(batch: Omit<BatchRequest, "type" | "id">, deadlineMs?: number): Promise<BatchResult> {
    if (this.failure) return Promise.reject(new Error(this.failure));
    const message: BatchRequest = { type: "batch", id: this.nextId++, ...batch };
    return new Promise<BatchResult>((resolve, reject) => {
      this.waiting.push({ batch: message, deadlineMs, resolve, reject });
      this.dispatch();
    });
  }

  /** Terminates a worker as a crash would (tests and the fault hook); it is restarted like any dead one. */
  async killWorker(index = 0): Promise<void> {
    await this.slots[index % this.slots.length].worker?.terminate();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.fail("the server is shutting down");
    await Promise.all(this.slots.map((s) => s.worker?.terminate()));
  }

  private dispatch(): void {
    for (const slot of this.slots) {
      if (this.waiting.length === 0) return;
      if (slot.state !== "idle" || !slot.worker) continue;
      const job = this.waiting.shift()!;
      slot.state = "busy";
      slot.job = job;
      const b = job.batch;
      if (job.deadlineMs !== undefined) {
        const worker = slot.worker;
        slot.watchdog = setTimeout(() => this.onDeadline(slot, worker, job), job.deadlineMs);
        slot.watchdog.unref();
      }
      slot.worker.postMessage(b, [b.ids.buffer as ArrayBuffer, b.typeIds.buffer as ArrayBuffer]);
    }
  }

  private attach(slot: Slot, worker: Worker): void {
    slot.worker = worker;
    slot.state = "idle";
    slot.loadFailures = 0;
    worker.on("message", (m: WorkerMessage) => this.onMessage(slot, m));
    // An uncaught error in the worker is followed by its exit; the exit handler restarts it.
    worker.on("error", () => {});
    worker.on("exit", (code) => this.onExit(slot, worker, code));
    this.free(slot);
  }

  private onMessage(slot: Slot, m: WorkerMessage): void {
    if (m.type !== "result" && m.type !== "failed") return;
    const job = slot.job;
    if (!job || job.batch.id !== m.id) return;
    clearTimeout(slot.watchdog);
    slot.job = undefined;
    slot.state = "idle";
    if (m.type === "result") job.resolve(m);
    else job.reject(new BatchFailedError(m.message));
    this.free(slot);
  }

  /** Gives a free worker the oldest waiting batch, or tells the batcher it may send one. */
  private free(slot: Slot): void {
    this.dispatch();
    if (slot.state === "idle") this.onIdle();
  }

  /** The batch's deadline passed with no answer: the worker is hung; terminating it ends in onExit. */
  private onDeadline(slot: Slot, worker: Worker, job: Job): void {
    if (slot.worker !== worker || slot.job !== job) return;
    slot.hung = true;
    this.onWorkerHung(slot.index, `inference worker ${slot.index} did not answer a batch within ${((job.deadlineMs ?? 0) / 1000).toFixed(1)} s`);
    void worker.terminate();
  }

  private onExit(slot: Slot, worker: Worker, code: number): void {
    if (slot.worker !== worker) return;
    clearTimeout(slot.watchdog);
    slot.worker = undefined;
    const job = slot.job;
    const hung = slot.hung === true;
    slot.job = undefined;
    slot.hung = false;
    slot.state = "loading";
    const reason = hung
      ? `inference worker ${slot.index} did not answer within ${((job?.deadlineMs ?? 0) / 1000).toFixed(1)} s (hung) and was terminated`
      : `inference worker ${slot.index} exited with code ${code}`;
    if (job) job.reject(hung ? new WorkerHungError(`${reason} while running this request`) : new WorkerDiedError(`${reason} while running this request`));
    if (this.stopping) return;
    // The dead thread's malloc arena keeps what it freed resident; return it before the next worker loads.
    releaseFreeNativeMemory();
    this.onWorkerDied(slot.index, reason);
    void this.restart(slot);
  }

  private async restart(slot: Slot): Promise<void> {
    while (!this.stopping) {
      try {
        const { worker } = await spawnWorker(this.config, this.pool.threadsPerWorker);
        if (this.stopping) {
          await worker.terminate();
          return;
        }
        this.restarts++;
        this.attach(slot, worker);
        // And what loading the model freed (file reads, unpacked tensors).
        releaseFreeNativeMemory();
        return;
      } catch (err) {
        if (++slot.loadFailures >= MAX_LOAD_FAILURES) {
          slot.state = "down";
          if (this.slots.every((s) => s.state === "down")) {
            this.fail(`every inference worker died and could not be restarted: ${err instanceof Error ? err.message : String(err)}`);
          }
          return;
        }
        await new Promise((r) => setTimeout(r, 500 * slot.loadFailures));
      }
    }
  }

  private fail(reason: string): void {
    this.failure ??= reason;
    for (const job of this.waiting.splice(0)) job.reject(new Error(reason));
    for (const slot of this.slots) {
      slot.job?.reject(new Error(reason));
      slot.job = undefined;
    }
  }
}
