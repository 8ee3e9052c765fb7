/**
 * text-embeddings-inference's metric names (router/src/http/server.rs, core/src/infer.rs,
 * queue.rs, tokenization.rs), for dashboards built on TEI: `serve --metrics-names te` (or `both`).
 * Same names, labels and units (seconds); histogram buckets follow TEI's prometheus.rs: durations
 * geometric from 15 µs by ×1.5, sizes and tokens powers of two.
 */
import { Counter, Gauge, Histogram, type Registry } from "prom-client";

/** TEI's `te_request_failure` `err` label values. */
export type TeFailure = "validation" | "batch_size" | "overloaded" | "tokenization" | "inference" | "model_type";
/** How a request gave its inputs: one input, or a list (TEI's `method` label). */
export type TeMethod = "single" | "batch";
/** Which of TEI's per-input families an inference belongs to. */
export type TeFamily = "embed" | "predict";

const DURATION_BUCKETS = Array.from({ length: 35 }, (_, i) => 0.00001 * 1.5 ** (i + 1));
const powersOfTwo = (n: number, max = Infinity) => Array.from({ length: n }, (_, i) => 2 ** i).filter((x) => x <= max);

/** One request's timings, as TEI reports them: per-input averages for tokenization, queue and inference. */
export interface RequestTimings {
  totalSeconds: number;
  tokenizationSeconds: number;
  queueSeconds: number;
  inferenceSeconds: number;
}

export class TeMetrics {
  readonly requestCount: Counter<"method">;
  readonly requestSuccess: Counter<"method">;
  readonly requestFailure: Counter<"err">;
  readonly requestDuration: Histogram;
  readonly requestTokenization: Histogram;
  readonly requestQueue: Histogram;
  readonly requestInference: Histogram;
  readonly inputLength: Histogram;
  readonly batchSize: Histogram;
  readonly batchTokens: Histogram;
  readonly queueSize: Gauge;
  private readonly family: Record<TeFamily, { count: Counter; success: Counter; duration: Histogram; tokenization: Histogram; queue: Histogram; inference: Histogram }>;

  constructor(registry: Registry, maxInputLength: number) {
    const registers = [registry];
    const seconds = (name: string, help: string) => new Histogram({ name, help, buckets: DURATION_BUCKETS, registers });
    this.requestCount = new Counter({ name: "te_request_count", help: "Inference requests received", labelNames: ["method"], registers });
    this.requestSuccess = new Counter({ name: "te_request_success", help: "Inference requests answered", labelNames: ["method"], registers });
    this.requestFailure = new Counter({ name: "te_request_failure", help: "Inference requests that failed, by reason", labelNames: ["err"], registers });
    this.requestDuration = seconds("te_request_duration", "Request time, received to answered");
    this.requestTokenization = seconds("te_request_tokenization_duration", "Tokenization time per input");
    this.requestQueue = seconds("te_request_queue_duration", "Time per input waiting for a forward pass");
    this.requestInference = seconds("te_request_inference_duration", "Forward-pass time per input");
    this.inputLength = new Histogram({ name: "te_request_input_length", help: "Tokens per input", buckets: powersOfTwo(20, Math.max(1, maxInputLength)), registers });
    this.batchSize = new Histogram({ name: "te_batch_next_size", help: "Inputs per forward pass", buckets: powersOfTwo(13), registers });
    this.batchTokens = new Histogram({ name: "te_batch_next_tokens", help: "Tokens per forward pass", buckets: powersOfTwo(21), registers });
    this.queueSize = new Gauge({ name: "te_queue_size", help: "Inputs waiting for a forward pass", registers });
    const family = (f: TeFamily) => ({
      count: new Counter({ name: `te_${f}_count`, help: `Inputs sent to ${f}`, registers }),
      success: new Counter({ name: `te_${f}_success`, help: `Inputs ${f} answered`, registers }),
      duration: seconds(`te_${f}_duration`, `${f} time per input`),
      tokenization: seconds(`te_${f}_tokenization_duration`, `${f} tokenization time per input`),
      queue: seconds(`te_${f}_queue_duration`, `${f} queue time per input`),
      inference: seconds(`te_${f}_inference_duration`, `${f} forward-pass time per input`),
    });
    this.family = { embed: family("embed"), predict: family("predict") };
  }

  /** A request with `inputs` inputs of these token counts starts (TEI counts before running). */
  started(method: TeMethod, family: TeFamily, tokensPerInput: readonly number[]): void {
    this.requestCount.inc({ method });
    this.family[family].count.inc(tokensPerInput.length);
    for (const n of tokensPerInput) this.inputLength.observe(n);
  }

  succeeded(method: TeMethod, family: TeFamily, inputs: number, t: RequestTimings): void {
    this.requestSuccess.inc({ method });
    this.requestDuration.observe(t.totalSeconds);
    this.requestTokenization.observe(t.tokenizationSeconds);
    this.requestQueue.observe(t.queueSeconds);
    this.requestInference.observe(t.inferenceSeconds);
    const f = this.family[family];
    f.success.inc(inputs);
    for (let i = 0; i < inputs; i++) {
      f.duration.observe(t.totalSeconds);
      f.tokenization.observe(t.tokenizationSeconds);
      f.queue.observe(t.queueSeconds);
      f.inference.observe(t.inferenceSeconds);
    }
  }
}
