/**
 * Routes about the server rather than the model's outputs: GET /info (TEI's fields), /health
 * (liveness: 503 only when no worker can ever serve again), /ready (readiness for orchestrators:
 * 503 while no worker is loaded or while draining), /metrics (Prometheus) and the page at /.
 */
import { basename } from "node:path";
import type { FastifyInstance } from "fastify";
import type { ServerContext } from "../context.js";
import { ApiError } from "../errors.js";
import { PAGE } from "../page.js";

export function registerMetaRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.get("/health", async (_req, reply) => {
    const reason = ctx.engine.unhealthyReason;
    if (reason) throw new ApiError(503, "unhealthy", reason);
    reply.header("cache-control", "no-store");
    return { status: "ok" };
  });

  app.get("/ready", async (_req, reply) => {
    reply.header("cache-control", "no-store");
    const reason = ctx.engine.unhealthyReason ?? (ctx.engine.live === 0 ? "no inference worker is loaded (restarting)" : undefined);
    if (reason) throw new ApiError(503, "unhealthy", reason, { "retry-after": "1" });
    return { status: "ready", workers: ctx.engine.live, queue: { requests: ctx.batcher.inFlight, wait_seconds: ctx.batcher.estimatedWaitSeconds } };
  });

  app.get("/metrics", async (_req, reply) => {
    ctx.metrics.workersLive.set(ctx.engine.live);
    reply.header("content-type", ctx.metrics.registry.contentType);
    return ctx.metrics.registry.metrics();
  });

  app.get("/info", async () => info(ctx));

  app.get("/", async (_req, reply) => {
    reply.header("content-type", "text/html; charset=utf-8");
    reply.header("content-security-policy", PAGE.contentSecurityPolicy);
    reply.header("x-content-type-options", "nosniff");
    return PAGE.html;
  });
}

function info(ctx: ServerContext): Record<string, unknown> {
  const { embedding, classifier, options } = ctx;
  const labels = classifier?.info.labels ?? [];
  const modelType = embedding
    ? { embedding: { pooling: embedding.info.pooling } }
    : {
        classifier: {
          id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
          label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
        },
      };
  return {
    model_id: ctx.modelId,
    // The weights' sha256 (TEI reports the hub commit here; bert-ts names the exact bytes, commit in bert_ts.*.provenance).
    model_sha: (embedding ?? classifier)?.info.provenance.weights_sha256 ?? null,
    // Weights are up-cast on load; the linear layers compute in the dtype --dtype chose (default float32).
    model_dtype: (embedding ?? classifier)?.info.provenance.dtype ?? "float32",
    model_type: modelType,
    max_concurrent_requests: options.maxQueue,
    max_input_length: embedding?.info.maxLength ?? classifier?.maxLength,
    max_batch_tokens: options.maxBatchTokens,
    max_batch_requests: null,
    max_client_batch_size: options.maxClientBatchSize,
    auto_truncate: options.autoTruncate,
    tokenization_workers: 1,
    // Extra: the inference worker pool (see README, "The server as a service").
    inference_workers: ctx.engine.size,
    version: ctx.version,
    sha: null,
    docker_label: null,
    bert_ts: {
      backend: embedding?.info.backend,
      embedding: embedding && {
        model_id: basename(embedding.info.dir),
        dimension: embedding.info.dimension,
        pooling: embedding.info.pooling,
        model_normalizes: embedding.info.normalize,
        max_input_length: embedding.info.maxLength,
        random_weights: embedding.info.randomWeights,
        provenance: embedding.info.provenance,
      },
      classifier: classifier && {
        model_id: basename(classifier.info.dir),
        labels,
        score_function: classifier.info.defaultFunction,
        max_input_length: classifier.maxLength,
        random_weights: classifier.info.randomWeights,
        provenance: classifier.info.provenance,
      },
    },
  };
}
