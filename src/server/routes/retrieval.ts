/**
 * text-embeddings-inference's retrieval routes: POST /rerank (a cross-encoder served with
 * --classifier scores query/text pairs) and POST /embed_sparse (a SPLADE model served with
 * --model DIR --pooling splade). Same request fields, defaults and response shapes as TEI.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { activateScore, crossEncoderActivation, type RerankActivation } from "../../pipelines/text-ranking.js";
import type { SequenceJob } from "../batcher.js";
import { type LoadedClassifier, type ServerContext, lengthPolicy, requireClassifier, requireSparseEmbedding } from "../context.js";
import { ApiError, badRequest } from "../errors.js";
import { runInference } from "../inference-call.js";
import { countChars, embedInputList, encodeEmbedInput, encodeInput, type EmbedInput } from "../inputs.js";
import { promptFor } from "../prompts.js";
import { sendProvenance } from "../provenance-header.js";
import { OUTPUT_POOLED } from "../protocol.js";

interface TruncationFields {
  truncate?: boolean | null;
  truncation_direction?: string | null;
}
export interface RerankBody extends TruncationFields {
  query: string;
  texts: string[];
  raw_scores: boolean;
  return_text: boolean;
}
export interface EmbedSparseBody extends TruncationFields {
  inputs: EmbedInput | EmbedInput[];
  prompt_name?: string | null;
}

const truncation = {
  truncate: { type: ["boolean", "null"] },
  truncation_direction: { type: ["string", "null"], enum: ["Right", "Left", "right", "left", null] },
} as const;

export const rerankSchema = {
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

const tokenId = { type: "integer", minimum: 0, maximum: 4294967295 } as const;

export const embedSparseSchema = {
  type: "object",
  required: ["inputs"],
  properties: {
    inputs: {
      description: "a string, a list of token ids, or a list of strings and/or lists of token ids",
      anyOf: [
        { type: "string" },
        { type: "array", items: tokenId },
        { type: "array", items: { anyOf: [{ type: "string" }, { type: "array", items: tokenId }] } },
      ],
    },
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

type Handler<B> = (req: FastifyRequest<{ Body: B }>, reply: FastifyReply) => Promise<unknown>;

/** POST /rerank: each text's score against the query, best first. */
export function rerankHandler(ctx: ServerContext): Handler<RerankBody> {
  const activations = new Map<LoadedClassifier, RerankActivation>();
  return async (req, reply) => {
    const { model, activation } = reranker(ctx, activations);
    const { query, texts } = req.body;
    if (texts.length === 0) throw new ApiError(400, "empty", "`texts` cannot be empty");
    const max = ctx.options.maxClientBatchSize;
    if (texts.length > max) throw new ApiError(413, "validation", `batch size ${texts.length} > maximum allowed batch size ${max}`);
    const tokenizationStartedAt = performance.now();
    const policy = lengthPolicy(ctx, model.maxLength, req.body);
    const jobs = texts.map((text): SequenceJob => ({ ...encodeInput(model.tokenizer, [query, text], policy), output: OUTPUT_POOLED }));
    const chars = countChars(query) * texts.length + texts.reduce((n, t) => n + countChars(t), 0);
    const logits = await runInference(ctx, req, reply, { role: "classifier", family: "predict", method: "batch", jobs, chars, tokenizationStartedAt });
    sendProvenance(reply, { ...model.info.provenance, tokens: jobs.reduce((n, j) => n + j.ids.length, 0) });
    const ranked = logits.map((row, index) => ({ index, logit: row[0] })).sort((a, b) => b.logit - a.logit || a.index - b.index);
    return ranked.map(({ index, logit }) => ({
      index,
      ...(req.body.return_text ? { text: texts[index] } : {}),
      score: req.body.raw_scores ? logit : activateScore(activation, logit),
    }));
  };
}

/** POST /embed_sparse: SPLADE vectors as {index, value} lists. */
export function embedSparseHandler(ctx: ServerContext): Handler<EmbedSparseBody> {
  return async (req, reply) => {
    const model = requireSparseEmbedding(ctx);
    const tokenizationStartedAt = performance.now();
    const prompt = promptFor(model, req.body);
    const { single, items, chars } = embedInputList(req.body.inputs, "inputs", ctx.options.maxClientBatchSize);
    const policy = lengthPolicy(ctx, model.info.maxLength, req.body);
    const where = (i: number) => (single ? "inputs" : `inputs[${i}]`);
    const jobs = items.map((x, i): SequenceJob => ({ ...encodeEmbedInput(model.tokenizer, x, where(i), prompt, policy, model.info.vocabSize), output: OUTPUT_POOLED }));
    const flat = await runInference(ctx, req, reply, { role: "embedding", family: "embed", method: single ? "single" : "batch", jobs, chars, tokenizationStartedAt });
    sendProvenance(reply, { ...model.info.provenance, prompt: prompt || undefined, tokens: jobs.reduce((n, j) => n + j.ids.length, 0) });
    return flat.map((f) => Array.from({ length: f.length / 2 }, (_, k) => ({ index: f[2 * k], value: f[2 * k + 1] })));
  };
}

export function registerRetrievalRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post<{ Body: RerankBody }>("/rerank", { schema: { body: rerankSchema } }, rerankHandler(ctx));
  app.post<{ Body: EmbedSparseBody }>("/embed_sparse", { schema: { body: embedSparseSchema } }, embedSparseHandler(ctx));
}
