/**
 * The model-agnostic entry points of text-embeddings-inference: POST / (Inference Endpoints, what
 * @huggingface/inference calls at a base URL) and POST /invocations (SageMaker) answer by the
 * served model's kind, as TEI does — an embedding model embeds (/embed; a SPLADE one /embed_sparse),
 * a one-output cross-encoder reranks (/rerank), another classifier predicts (/predict) — and
 * GET /ping is SageMaker's health check.
 *
 * One step past TEI: for an embedding model, a body whose `inputs` is an object
 * {source_sentence, sentences} is the sentence-similarity task (/similarity), which TEI serves
 * on / only when started with TASK=sentence-similarity. With both --model and --classifier, the
 * embedding model answers.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { ServerContext } from "../context.js";
import { ApiError } from "../errors.js";
import { describeValidationErrors } from "../validation-messages.js";
import { embedSparseHandler, embedSparseSchema, rerankHandler, rerankSchema } from "./retrieval.js";
import { embedSchema, predictSchema, similaritySchema } from "./schemas.js";
import { embedHandler, predictHandler, similarityHandler } from "./tei.js";

type AnyHandler = (req: FastifyRequest<{ Body: any }>, reply: FastifyReply) => Promise<unknown>;
interface Task {
  route: string;
  schema: object;
  handler: AnyHandler;
}

/** What POST / does for the loaded models, given the body. */
function chooseTask(ctx: ServerContext): (body: unknown) => Task {
  if (ctx.embedding?.info.sparse) {
    const sparse: Task = { route: "/embed_sparse", schema: embedSparseSchema, handler: embedSparseHandler(ctx) };
    return () => sparse;
  }
  if (ctx.embedding) {
    const embed: Task = { route: "/embed", schema: embedSchema, handler: embedHandler(ctx) };
    const similarity: Task = { route: "/similarity", schema: similaritySchema, handler: similarityHandler(ctx) };
    return (body) => (isSimilarityBody(body) ? similarity : embed);
  }
  const classifier = ctx.classifier;
  const task: Task =
    classifier && classifier.info.labels.length === 1
      ? { route: "/rerank", schema: rerankSchema, handler: rerankHandler(ctx) }
      : { route: "/predict", schema: predictSchema, handler: predictHandler(ctx) };
  return () => task;
}

function isSimilarityBody(body: unknown): boolean {
  const inputs = (body as { inputs?: unknown } | null)?.inputs;
  return typeof inputs === "object" && inputs !== null && !Array.isArray(inputs);
}

export function registerEntryRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const choose = chooseTask(ctx);
  const handler = async (req: FastifyRequest<{ Body: unknown }>, reply: FastifyReply) => {
    const task = choose(req.body);
    // Validated here, not by the route: the schema depends on the model and the body.
    const validate = req.compileValidationSchema(task.schema, "body");
    if (!validate(req.body)) {
      const errors = (validate.errors ?? []) as Parameters<typeof describeValidationErrors>[0];
      throw new ApiError(422, "validation", `Invalid request (${req.url.split("?", 1)[0]} serves ${task.route} for this model): ${describeValidationErrors(errors)}`);
    }
    reply.header("x-bert-ts-route", task.route);
    return task.handler(req as FastifyRequest<{ Body: any }>, reply);
  };
  app.post("/", handler);
  app.post("/invocations", handler);

  app.get("/ping", async (_req, reply) => {
    const reason = ctx.engine.unhealthyReason;
    if (reason) throw new ApiError(503, "unhealthy", reason);
    reply.header("cache-control", "no-store");
    return { status: "ok" };
  });
}
