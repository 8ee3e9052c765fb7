/**
 * Dynamic batching over the worker pool: the inputs of every admitted request wait in one FIFO
 * queue per model; whenever a worker is free, the queue's head — as many inputs as fit in the token
 * budget — goes out as one packed forward pass. Packing makes each sequence's result independent
 * of its neighbours, so a request gets bit for bit what it would get alone. A request larger than
 * the budget is split over several passes.
 *
 * Admission is by work: past maxQueue requests or maxQueueTokens queued tokens a request gets 429;
 * one that would wait longer than maxQueueWaitMs (queued tokens ÷ measured throughput) gets 503,
 * both with Retry-After. Every request is validated on its own before it joins a batch.
 *
 * One bad request fails only itself: when a batch fails, its requests are re-run one by one, so
 * only the one that fails alone is answered with the error (422). A worker that dies mid-batch, or
 * hangs (no answer by the batch's deadline: the engine terminates it), is restarted by the engine
 * and each of the batch's requests is retried once, alone; a request that kills or hangs a worker
 * twice fails with 500 and says so.
 */
import type { IncomingHttpHeaders } from "node:http";
import { setImmediate as nextTurn } from "node:timers/promises";
import { ApiError, invalid, overloaded } from "./errors.js";
import { BatchFailedError, WorkerDiedError, WorkerHungError, type InferenceEngine } from "./engine.js";
import type { ServerMetrics } from "./metrics.js";
import type { BatchResult, ModelRole, OutputKind, TestFault } from "./protocol.js";

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
  /** Times a worker died while running part of this request (it is retried after the first). */
  deaths: number;
  fault?: TestFault | "exit-once" | "hang-once";
  resolve: (r: Float32Array[]) => void;
  reject: (e: Error) => void;
}

/** What a model accepts: ids are checked against these before batching. */
export interface ModelLimits {
  vocabSize: number;
  typeVocabSize: number;
}

export interface BatcherOptions {
  maxBatchTokens: number;
  /** Most requests admitted (queued or running). */
  maxQueue: number;
  /** Most tokens waiting for a forward pass. */
  maxQueueTokens: number;
  /** Longest estimated wait before a request's first forward pass, in milliseconds. */
  maxQueueWaitMs: number;
  /**
   * Shortest deadline of a forward pass, in milliseconds; a batch gets more when the measured
   * throughput says it needs it (BATCH_DEADLINE_SLACK times its expected time). A worker past its
   * batch's deadline is hung: terminated and restarted, its requests retried once.
   */
  batchTimeoutMs: number;
  /** Honour the `x-bert-ts-test-fault` header (BERT_TS_TEST_FAULTS=1, tests only). */
  testFaults: boolean;
}

/** The test fault hook's header: `exit` (the worker dies on this request, every time), `exit-once`
 * (a crash on its first run only: the retry must succeed), `hang` / `hang-once` (the forward pass
 * never returns, every time / the first time) or `throw` (the forward pass throws). */
export const TEST_FAULT_HEADER = "x-bert-ts-test-fault";
const TEST_FAULTS = new Set(["exit", "exit-once", "hang", "hang-once", "throw"]);

/** A batch's deadline is at least this many times its expected compute time (a loaded machine is slow, not hung). */
const BATCH_DEADLINE_SLACK = 20;

/** Weight of the newest batch in the moving average of throughput. */
const RATE_SMOOTHING = 0.2;

export class Batcher {
  private readonly queues: Record<ModelRole, QueuedSequence[]> = { embedding: [], classifier: [] };
  /** Index of each queue's head (shifting arrays is O(n)). */
  private readonly heads: Record<ModelRole, number> = { embedding: 0, classifier: 0 };
  private queuedTokens = 0;
  private runningTokens = 0;
  private admitted = 0;
  /** Tokens per second one worker computes (moving average, seeded by the warm-up). */
  private tokensPerSecond: number;
  /** Alternates between the models when both have work. */
  private lastModel: ModelRole = "classifier";

  constructor(
    private readonly engine: InferenceEngine,
    private readonly limits: Partial<Record<ModelRole, ModelLimits>>,
    private readonly options: BatcherOptions,
    private readonly metrics: ServerMetrics,
  ) {
    this.tokensPerSecond = engine.warmupTokensPerSecond;
    engine.onIdle = () => this.pump();
  }

  /** Requests admitted and not yet answered. */
  get inFlight(): number {
    return this.admitted;
  }

  /** Seconds a request arriving now would wait before its first forward pass. */
  get estimatedWaitSeconds(): number {
    const rate = this.tokensPerSecond * Math.max(1, this.engine.live);
    return rate > 0 ? (this.queuedTokens + this.runningTokens) / rate : 0;
  }

  /**
   * Runs the sequences of one request. Throws at once (422 for an invalid sequence, 429/503 when
   * the server has too much work); `headers` are only read by the test fault hook.
   */
  submit(model: ModelRole, jobs: readonly SequenceJob[], headers?: IncomingHttpHeaders): Promise<Float32Array[]> {
    this.validate(model, jobs);
    const tokens = jobs.reduce((n, j) => n + j.ids.length, 0);
    this.admit(tokens);
    if (jobs.length === 0) return Promise.resolve([]);
    const fault = this.options.testFaults ? headers?.[TEST_FAULT_HEADER] : undefined;
    return new Promise<Float32Array[]>((resolve, reject) => {
      const request: AdmittedRequest = {
        results: new Array(jobs.length),
        remaining: jobs.length,
        failed: false,
        deaths: 0,
        fault: typeof fault === "string" && TEST_FAULTS.has(fault) ? (fault as AdmittedRequest["fault"]) : undefined,
        resolve,
        reject,
      };
      this.admitted++;
      this.metrics.queueRequests.set(this.admitted);
      jobs.forEach((job, index) => this.queues[model].push({ job, request, index }));
      this.queuedTokens += tokens;
      this.metrics.queueTokens.set(this.queuedTokens);
      this.pump();
    });
  }

  /** Token ids the model has no embedding for fail this request here, never its batch. */
  private validate(model: ModelRole, jobs: readonly SequenceJob[]): void {
    const limits = this.limits[model];
    if (!limits) return;
    jobs.forEach((job, i) => {
      if (job.ids.length === 0) throw invalid(`Input validation error: input ${i} has no tokens`);
      if (job.typeIds.length !== job.ids.length) throw invalid(`Input validation error: input ${i} has ${job.typeIds.length} token type ids for ${job.ids.length} tokens`);
      for (let k = 0; k < job.ids.length; k++) {
        const id = job.ids[k];
        const type = job.typeIds[k];
        if (!Number.isInteger(id) || id < 0 || id >= limits.vocabSize) {
          throw invalid(`Input validation error: input ${i}: token id ${id} is outside the model's vocabulary (0..${limits.vocabSize - 1})`);
        }
        if (!Number.isInteger(type) || type < 0 || type >= limits.typeVocabSize) {
          throw invalid(`Input validation error: input ${i}: token type id ${type} is outside the model's ${limits.typeVocabSize} token types`);
        }
      }
    });
  }

  private admit(tokens: number): void {
    const o = this.options;
    if (this.admitted >= o.maxQueue) throw this.reject("queue_requests", overloaded(1));
    if (this.queuedTokens > 0 && this.queuedTokens + tokens > o.maxQueueTokens) {
      throw this.reject("queue_tokens", overloaded(this.retryAfter(this.queuedTokens + tokens - o.maxQueueTokens)));
    }
    const wait = this.estimatedWaitSeconds;
    if (wait * 1000 > o.maxQueueWaitMs) {
      const retry = Math.max(1, Math.ceil(wait - o.maxQueueWaitMs / 1000));
      throw this.reject(
        "queue_wait",
        new ApiError(503, "overloaded", `Model is overloaded: a new request would wait about ${wait.toFixed(1)} s (limit ${o.maxQueueWaitMs / 1000} s)`, {
          "retry-after": String(retry),
        }),
      );
    }
  }

  /** Seconds until this many queued tokens have been computed. */
  private retryAfter(tokens: number): number {
    const rate = this.tokensPerSecond * Math.max(1, this.engine.live);
    return rate > 0 ? Math.max(1, Math.ceil(tokens / rate)) : 1;
  }

  private reject(reason: string, error: ApiError): ApiError {
    this.metrics.rejected.inc({ reason });
    return error;
  }

  private pending(model: ModelRole): number {
    return this.queues[model].length - this.heads[model];
  }

  private pump(): void {
    while (this.engine.idle > 0) {
      const other: ModelRole = this.lastModel === "embedding" ? "classifier" : "embedding";
      const model = this.pending(other) > 0 ? other : this.pending(this.lastModel) > 0 ? this.lastModel : undefined;
      if (!model) return;
      this.lastModel = model;
      void this.runBatch(model, this.take(model));
    }
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

  /** Packs sequences into one forward pass and runs it on the pool. */
  private async forward(model: ModelRole, batch: readonly QueuedSequence[]): Promise<BatchResult> {
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
    const fault = batch.map((s) => s.request.fault).find((f) => f !== undefined);
    this.runningTokens += total;
    try {
      const result = await this.engine.run(
        { model, ids, typeIds, starts, outputs, fault: fault === "exit-once" ? "exit" : fault === "hang-once" ? "hang" : fault },
        this.deadlineMs(total),
      );
      this.metrics.batchInputs.observe({ model }, batch.length);
      this.metrics.batchTokens.observe({ model }, total);
      this.metrics.batchSeconds.observe({ model }, result.computeMs / 1000);
      this.metrics.tokens.inc({ model }, total);
      this.metrics.inputs.inc({ model }, batch.length);
      if (result.computeMs > 0) {
        const rate = total / (result.computeMs / 1000);
        this.tokensPerSecond = this.tokensPerSecond > 0 ? (1 - RATE_SMOOTHING) * this.tokensPerSecond + RATE_SMOOTHING * rate : rate;
      }
      return result;
    } finally {
      this.runningTokens -= total;
    }
  }

  /** How long a forward pass of `tokens` may take before its worker counts as hung. */
  private deadlineMs(tokens: number): number {
    const expected = this.tokensPerSecond > 0 ? (tokens / this.tokensPerSecond) * 1000 : 0;
    return Math.max(this.options.batchTimeoutMs, BATCH_DEADLINE_SLACK * expected);
  }

  private async runBatch(model: ModelRole, batch: QueuedSequence[]): Promise<void> {
    let result: BatchResult;
    try {
      result = await this.forward(model, batch);
    } catch (err) {
      await this.isolate(model, batch, err);
      return;
    }
    const done = batch.filter((s, i) => this.complete(s, result.data.subarray(result.starts[i], result.starts[i + 1])));
    // One answer per event-loop turn: serialising hundreds of responses in one go would make
    // /health (and new requests) wait behind all of them.
    for (const s of done) {
      this.finish(s.request, () => s.request.resolve(s.request.results));
      await nextTurn();
    }
  }

  /** A batch failed: each of its requests runs again alone, so only a request that fails alone fails. */
  private async isolate(model: ModelRole, batch: readonly QueuedSequence[], err: unknown): Promise<void> {
    const byRequest = new Map<AdmittedRequest, QueuedSequence[]>();
    for (const s of batch) if (!s.request.failed) byRequest.set(s.request, [...(byRequest.get(s.request) ?? []), s]);
    if (err instanceof WorkerDiedError) for (const r of byRequest.keys()) r.deaths++;
    const rerun = err instanceof WorkerDiedError || (err instanceof BatchFailedError && byRequest.size > 1);
    if (!rerun) {
      for (const r of byRequest.keys()) this.fail(r, this.failure(r, err));
      return;
    }
    this.metrics.isolatedRequests.inc(byRequest.size);
    await Promise.all([...byRequest].map(([r, seqs]) => this.runAlone(model, r, seqs)));
  }

  private async runAlone(model: ModelRole, r: AdmittedRequest, seqs: readonly QueuedSequence[]): Promise<void> {
    // A worker that died or hung on this request's first run gets one retry; the `-once` faults strike once.
    if (r.fault === "exit-once" || r.fault === "hang-once") r.fault = undefined;
    for (;;) {
      if (r.failed) return;
      try {
        const result = await this.forward(model, seqs);
        seqs.forEach((s, i) => {
          if (this.complete(s, result.data.subarray(result.starts[i], result.starts[i + 1]))) this.finish(r, () => r.resolve(r.results));
        });
        return;
      } catch (err) {
        if (err instanceof WorkerDiedError && ++r.deaths < 2) continue;
        this.fail(r, this.failure(r, err));
        return;
      }
    }
  }

  /** What a request whose forward pass failed is answered. */
  private failure(r: AdmittedRequest, err: unknown): Error {
    if (err instanceof WorkerHungError) {
      return new ApiError(500, "backend", `Inference failed: the inference worker hung ${r.deaths > 1 ? "twice " : ""}while running this request (no answer by the batch deadline; the worker was restarted) (${err.message})`);
    }
    if (err instanceof WorkerDiedError) {
      return new ApiError(500, "backend", `Inference failed: the inference worker died ${r.deaths > 1 ? "twice " : ""}while running this request (${err.message})`);
    }
    if (err instanceof BatchFailedError) return invalid(`Inference failed on this input: ${err.message}`);
    return err instanceof Error ? err : new Error(String(err));
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
