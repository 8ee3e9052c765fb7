/**
 * text-embeddings-inference's retrieval routes: POST /rerank (a cross-encoder served with
 * --classifier scores query/text pairs) and POST /embed_sparse (a SPLADE model served with
 * --model DIR --pooling splade). Same request fields, defaults and response shapes as TEI.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance } from "fastify";
import { activateScore, crossEncoderActivation, type RerankActivation } from "../../pipelines/text-ranking.js";
import type { SequenceJob } from "../batcher.js";
import { type LoadedClassifier, type ServerContext, lengthPolicy, requireClassifier, requireSparseEmbedding } from "../context.js";
import { ApiError, badRequest } from "../errors.js";
import { encodeInput } from "../inputs.js";
import { promptFor } from "../prompts.js";
import { sendProvenance } from "../provenance-header.js";
import { OUTPUT_POOLED } from "../protocol.js";
import { inputList } from "./tei.js";

interface TruncationFields {
  truncate?: boolean | null;
  truncation_direction?: string | null;
}
interface RerankBody extends TruncationFields {
  query: string;
  texts: string[];
  raw_scores: boolean;
  return_text: boolean;
}
interface EmbedSparseBody extends TruncationFields {
  inputs: string | string[];
  prompt_name?: string | null;
}

const truncation = {
  truncate: { type: ["boolean", "null"] },
  truncation_direction: { type: ["string", "null"], enum: ["Right", "Left", "right", "left", null] },
} as const;

const rerankSchema = {
  type: "object",
  required: ["query", "texts"],
  properties: {
    query: { type: "string" },
    texts: { type: "array", items: { type: "string" } },
    raw_scores: { type: "boolean", default: false },
    return_text: { type: "boolean", default: false },
    ...truncation,
  },
} as const;

const embedSparseSchema = {
  type: "object",
  required: ["inputs"],
  properties: {
    inputs: { anyOf: [{ type: "string" }, { type: "array", items: { type: "string" } }] },
    prompt_name: { type: ["string", "null"] },
    ...truncation,
  },
} as const;

/** The classifier as a reranker: one output, and the activation its CrossEncoder config names. */
function reranker(ctx: ServerContext, cache: Map<LoadedClassifier, RerankActivation>): { model: LoadedClassifier; activation: RerankActivation } {
  const model = requireClassifier(ctx);
  if (model.info.labels.length !== 1) {
    throw badRequest(`/rerank needs a cross-encoder with one output; the classifier has ${model.info.labels.length} labels (use /predict)`);
  }
  let activation = cache.get(model);
  if (!activation) {
    const file = join(model.info.dir, "config.json");
    activation = crossEncoderActivation(JSON.parse(readFileSync(file, "utf8")) as Record<string, unknown>, 1, file);
    cache.set(model, activation);
  }
  return { model, activation };
}

export function registerRetrievalRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const max = ctx.options.maxClientBatchSize;
  const activations = new Map<LoadedClassifier, RerankActivation>();

  app.post<{ Body: RerankBody }>("/rerank", { schema: { body: rerankSchema } }, async (req, reply) => {
    const { model, activation } = reranker(ctx, activations);
    const { query, texts } = req.body;
    if (texts.length === 0) throw new ApiError(400, "empty", "`texts` cannot be empty");
    inputList(texts, (x): x is string => false, max);
    const policy = lengthPolicy(ctx, model.maxLength, req.body);
    const jobs = texts.map((text): SequenceJob => ({ ...encodeInput(model.tokenizer, [query, text], policy), output: OUTPUT_POOLED }));
    const logits = await ctx.batcher.submit("classifier", jobs);
    sendProvenance(reply, { ...model.info.provenance, tokens: jobs.reduce((n, j) => n + j.ids.length, 0) });
    const ranked = logits.map((row, index) => ({ index, logit: row[0] })).sort((a, b) => b.logit - a.logit || a.index - b.index);
    return ranked.map(({ index, logit }) => ({
      index,
      ...(req.body.return_text ? { text: texts[index] } : {}),
      score: req.body.raw_scores ? logit : activateScore(activation, logit),
    }));
  });

  app.post<{ Body: EmbedSparseBody }>("/embed_sparse", { schema: { body: embedSparseSchema } }, async (req, reply) => {
    const model = requireSparseEmbedding(ctx);
    const prompt = promptFor(model, req.body);
    const texts = inputList(req.body.inputs, (x): x is string => typeof x === "string", max);
    const policy = lengthPolicy(ctx, model.info.maxLength, req.body);
    const jobs = texts.map((t): SequenceJob => ({ ...encodeInput(model.tokenizer, prompt + t, policy), output: OUTPUT_POOLED }));
    const flat = await ctx.batcher.submit("embedding", jobs);
    sendProvenance(reply, { ...model.info.provenance, prompt: prompt || undefined, tokens: jobs.reduce((n, j) => n + j.ids.length, 0) });
    return flat.map((f) => Array.from({ length: f.length / 2 }, (_, k) => ({ index: f[2 * k], value: f[2 * k + 1] })));
  });
}
