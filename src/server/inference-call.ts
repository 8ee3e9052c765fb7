/**
 * One request's trip through the batcher, with what text-embeddings-inference reports about it:
 * its response headers (x-compute-time, x-compute-characters, x-compute-tokens, x-total-time,
 * x-tokenization-time, x-queue-time, x-inference-time: whole milliseconds, the last three
 * per-input averages, as TEI's ResponseMetadata) and, with `--metrics-names te|both`, its te_*
 * metrics.
 */
import type { FastifyReply, FastifyRequest } from "fastify";
import type { SequenceJob, SubmitTiming } from "./batcher.js";
import type { ServerContext } from "./context.js";
import type { ApiError } from "./errors.js";
import type { ModelRole } from "./protocol.js";
import type { TeFailure, TeFamily, TeMethod } from "./te-metrics.js";

export interface InferenceCall {
  role: ModelRole;
  family: TeFamily;
  method: TeMethod;
  jobs: readonly SequenceJob[];
  /** Characters of the inputs (TEI's x-compute-characters). */
  chars: number;
  /** When the request's tokenization started (performance.now()); it ends as the call is made. */
  tokenizationStartedAt: number;
}

/** Runs the jobs; sets TEI's headers on the reply and records TEI's metrics. */
export async function runInference(ctx: ServerContext, req: FastifyRequest, reply: FastifyReply, call: InferenceCall): Promise<Float32Array[]> {
  const n = Math.max(1, call.jobs.length);
  const tokenizationMs = (performance.now() - call.tokenizationStartedAt) / n;
  const tokens = call.jobs.reduce((sum, j) => sum + j.ids.length, 0);
  ctx.metrics.te?.started(call.method, call.family, call.jobs.map((j) => j.ids.length));
  const timing: SubmitTiming = { queueMs: 0, inferenceMs: 0 };
  const results = await ctx.batcher.submit(call.role, call.jobs, req.headers, timing);
  const totalMs = reply.elapsedTime;
  const ms = (x: number) => String(Math.floor(x));
  reply.headers({
    "x-compute-type": "cpu",
    "x-compute-time": ms(totalMs),
    "x-compute-characters": String(call.chars),
    "x-compute-tokens": String(tokens),
    "x-total-time": ms(totalMs),
    "x-tokenization-time": ms(tokenizationMs),
    "x-queue-time": ms(timing.queueMs),
    "x-inference-time": ms(timing.inferenceMs),
  });
  ctx.metrics.te?.succeeded(call.method, call.family, call.jobs.length, {
    totalSeconds: totalMs / 1000,
    tokenizationSeconds: tokenizationMs / 1000,
    queueSeconds: timing.queueMs / 1000,
    inferenceSeconds: timing.inferenceMs / 1000,
  });
  return results;
}

/** Routes whose failures TEI counts in te_request_failure. */
export const INFERENCE_ROUTES = new Set(["/", "/invocations", "/embed", "/embed_all", "/embed_sparse", "/predict", "/rerank", "/similarity", "/embeddings", "/v1/embeddings"]);

/** TEI's `err` label for a failed request. */
export function teFailure(err: ApiError): TeFailure {
  if (err.type === "overloaded") return "overloaded";
  if (err.status >= 500) return "inference";
  if (err.status === 413 && err.message.startsWith("batch size")) return "batch_size";
  if (/^No (embedding model|classifier|SPLADE model) is loaded|served as SPLADE|needs a cross-encoder/.test(err.message)) return "model_type";
  if (err.status === 413 || /token/.test(err.message)) return "tokenization";
  return "validation";
}
