/**
 * Dynamic batching: the inputs of every admitted request wait in one FIFO queue per model; whenever
 * the worker is free, the queue's head — as many inputs as fit in the token budget — goes out as one
 * packed forward pass. Packing makes each sequence's result independent of its neighbours, so a
 * request gets bit for bit what it would get alone. A request larger than the budget is split over
 * several passes. Admission is bounded (maxQueue requests in flight): past it, `overloaded` (429).
 */
import { setImmediate as nextTurn } from "node:timers/promises";
import { overloaded } from "./errors.js";
import type { InferenceEngine } from "./engine.js";
import type { ServerMetrics } from "./metrics.js";
import type { BatchResult, ModelRole, OutputKind } from "./protocol.js";

/** One sequence to run: its token ids and what to return for it. */
export interface SequenceJob {
  ids: ArrayLike<number>;
  typeIds: ArrayLike<number>;
  output: OutputKind;
}

interface QueuedSequence {
  job: SequenceJob;
  request: AdmittedRequest;
  index: number;
}

interface AdmittedRequest {
  results: Float32Array[];
  remaining: number;
  failed: boolean;
  resolve: (r: Float32Array[]) => void;
  reject: (e: Error) => void;
}

export interface BatcherOptions {
  maxBatchTokens: number;
  maxQueue: number;
}

export class Batcher {
  private readonly queues: Record<ModelRole, QueuedSequence[]> = { embedding: [], classifier: [] };
  /** Index of each queue's head (shifting arrays is O(n)). */
  private readonly heads: Record<ModelRole, number> = { embedding: 0, classifier: 0 };
  private queuedTokens = 0;
  private admitted = 0;
  private busy = false;
  /** Alternates between the models when both have work. */
  private lastModel: ModelRole = "classifier";

  constructor(
    private readonly engine: InferenceEngine,
    private readonly options: BatcherOptions,
    private readonly metrics: ServerMetrics,
  ) {}

  /** Requests admitted and not yet answered. */
  get inFlight(): number {
    return this.admitted;
  }

  /** Runs the sequences of one request; throws `overloaded` at once when the queue is full. */
  submit(model: ModelRole, jobs: readonly SequenceJob[]): Promise<Float32Array[]> {
    if (this.admitted >= this.options.maxQueue) throw overloaded(1);
    if (jobs.length === 0) return Promise.resolve([]);
    return new Promise<Float32Array[]>((resolve, reject) => {
      const request: AdmittedRequest = { results: new Array(jobs.length), remaining: jobs.length, failed: false, resolve, reject };
      this.admitted++;
      this.metrics.queueRequests.set(this.admitted);
      jobs.forEach((job, index) => {
        this.queues[model].push({ job, request, index });
        this.queuedTokens += job.ids.length;
      });
      this.metrics.queueTokens.set(this.queuedTokens);
      this.pump();
    });
  }

  private pending(model: ModelRole): number {
    return this.queues[model].length - this.heads[model];
  }

  private pump(): void {
    if (this.busy) return;
    const other: ModelRole = this.lastModel === "embedding" ? "classifier" : "embedding";
    const model = this.pending(other) > 0 ? other : this.pending(this.lastModel) > 0 ? this.lastModel : undefined;
    if (!model) return;
    this.lastModel = model;
    this.busy = true;
    void this.runBatch(model, this.take(model));
  }

  /** The queue's head, up to the token budget (at least one sequence). */
  private take(model: ModelRole): QueuedSequence[] {
    const queue = this.queues[model];
    let head = this.heads[model];
    const batch: QueuedSequence[] = [];
    let tokens = 0;
    while (head < queue.length) {
      const len = queue[head].job.ids.length;
      if (batch.length > 0 && tokens + len > this.options.maxBatchTokens) break;
      batch.push(queue[head]);
      tokens += len;
      head++;
    }
    if (head === queue.length) {
      queue.length = 0;
      head = 0;
    } else if (head > 1024 && head * 2 > queue.length) {
      queue.splice(0, head);
      head = 0;
    }
    this.heads[model] = head;
    this.queuedTokens -= tokens;
    this.metrics.queueTokens.set(this.queuedTokens);
    return batch;
  }

  private async runBatch(model: ModelRole, batch: QueuedSequence[]): Promise<void> {
    const starts = new Int32Array(batch.length + 1);
    batch.forEach((s, i) => (starts[i + 1] = starts[i] + s.job.ids.length));
    const total = starts[batch.length];
    const ids = new Int32Array(total);
    const typeIds = new Int32Array(total);
    const outputs = new Uint8Array(batch.length);
    batch.forEach((s, i) => {
      ids.set(s.job.ids, starts[i]);
      typeIds.set(s.job.typeIds, starts[i]);
      outputs[i] = s.job.output;
    });
    this.metrics.batchInputs.observe({ model }, batch.length);
    this.metrics.batchTokens.observe({ model }, total);
    let result: BatchResult;
    try {
      result = await this.engine.run({ model, ids, typeIds, starts, outputs });
    } catch (err) {
      this.busy = false;
      this.pump();
      const error = err instanceof Error ? err : new Error(String(err));
      for (const s of batch) this.fail(s.request, error);
      return;
    }
    // Send the next batch before answering this one, so the worker never waits on HTTP work.
    this.busy = false;
    this.pump();
    this.metrics.batchSeconds.observe({ model }, result.computeMs / 1000);
    this.metrics.tokens.inc({ model }, total);
    this.metrics.inputs.inc({ model }, batch.length);
    const done = batch.filter((s, i) => this.complete(s, result.data.subarray(result.starts[i], result.starts[i + 1])));
    // One answer per event-loop turn: serialising hundreds of responses in one go would make
    // /health (and new requests) wait behind all of them.
    for (const s of done) {
      this.finish(s.request, () => s.request.resolve(s.request.results));
      await nextTurn();
    }
  }

  /** Stores one output; true when it was its request's last. */
  private complete(s: QueuedSequence, output: Float32Array): boolean {
    const r = s.request;
    if (r.failed) return false;
    r.results[s.index] = output;
    return --r.remaining === 0;
  }

  private fail(r: AdmittedRequest, error: Error): void {
    if (r.failed) return;
    r.failed = true;
    this.finish(r, () => r.reject(error));
  }

  private finish(r: AdmittedRequest, settle: () => void): void {
    this.admitted--;
    this.metrics.queueRequests.set(this.admitted);
    settle();
  }
}
