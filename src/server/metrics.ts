/**
 * Prometheus metrics (GET /metrics): HTTP requests and latency by route and status, batch sizes,
 * queue depth and tokens processed, plus the process's own (RSS, heap, event-loop lag). One
 * registry per server, so tests can run several servers in one process.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export class ServerMetrics {
  readonly registry = new Registry();
  readonly requests: Counter<"route" | "method" | "status">;
  readonly latency: Histogram<"route" | "method" | "status">;
  readonly batchInputs: Histogram<"model">;
  readonly batchTokens: Histogram<"model">;
  readonly batchSeconds: Histogram<"model">;
  readonly queueRequests: Gauge;
  readonly queueTokens: Gauge;
  readonly tokens: Counter<"model">;
  readonly inputs: Counter<"model">;
  readonly rejected: Counter<"reason">;
  readonly isolatedRequests: Counter;
  readonly workerDeaths: Counter;
  readonly workerHangs: Counter;
  readonly workersLive: Gauge;

  constructor() {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, prefix: "bert_ts_" });
    this.requests = new Counter({ name: "bert_ts_http_requests_total", help: "HTTP requests answered", labelNames: ["route", "method", "status"], registers });
    this.latency = new Histogram({
      name: "bert_ts_http_request_duration_seconds",
      help: "Time from request received to response sent",
      labelNames: ["route", "method", "status"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.batchInputs = new Histogram({
      name: "bert_ts_batch_inputs",
      help: "Sequences per forward pass",
      labelNames: ["model"],
      buckets: [1, 2, 4, 8, 16, 32, 64, 128, 256, 512],
      registers,
    });
    this.batchTokens = new Histogram({
      name: "bert_ts_batch_tokens",
      help: "Real tokens per forward pass",
      labelNames: ["model"],
      buckets: [16, 64, 256, 1024, 2048, 4096, 8192, 16384, 32768],
      registers,
    });
    this.batchSeconds = new Histogram({
      name: "bert_ts_batch_duration_seconds",
      help: "Forward pass time per batch, in the worker",
      labelNames: ["model"],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.queueRequests = new Gauge({ name: "bert_ts_queue_requests", help: "Requests admitted and not yet answered (queued or running)", registers });
    this.queueTokens = new Gauge({ name: "bert_ts_queue_tokens", help: "Tokens waiting for a forward pass", registers });
    this.tokens = new Counter({ name: "bert_ts_tokens_total", help: "Tokens run through a model", labelNames: ["model"], registers });
    this.inputs = new Counter({ name: "bert_ts_inputs_total", help: "Sequences run through a model", labelNames: ["model"], registers });
    this.rejected = new Counter({
      name: "bert_ts_admission_rejected_total",
      help: "Requests turned away by admission control (queue_requests, queue_tokens: 429; queue_wait: 503)",
      labelNames: ["reason"],
      registers,
    });
    this.isolatedRequests = new Counter({ name: "bert_ts_isolated_requests_total", help: "Requests re-run alone after their batch failed", registers });
    this.workerDeaths = new Counter({ name: "bert_ts_worker_deaths_total", help: "Inference workers that died (each is restarted)", registers });
    this.workerHangs = new Counter({ name: "bert_ts_worker_hangs_total", help: "Inference workers terminated for not answering a batch by its deadline (also counted as deaths)", registers });
    this.workersLive = new Gauge({ name: "bert_ts_workers_live", help: "Inference workers loaded and serving", registers });
  }
}
