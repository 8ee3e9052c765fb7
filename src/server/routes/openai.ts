/**
 * OpenAI's embeddings API (POST /v1/embeddings, and /embeddings as TEI also serves it), so OpenAI
 * clients can use bert-ts by changing only their base URL; GET /v1/models lists the served models
 * (OpenAI clients list them before use). Vectors are L2-normalised (as OpenAI's are), `dimensions`
 * truncates then re-normalises, and token-id arrays are taken as this model's vocabulary ids, used
 * as given. An empty string, an empty token list and an empty list are all refused with 400.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import type { SequenceJob } from "../batcher.js";
import { type ServerContext, lengthPolicy, requireEmbedding } from "../context.js";
import { runInference } from "../inference-call.js";
import { embedInputList, encodeEmbedInput, type EmbedInput } from "../inputs.js";
import { OUTPUT_POOLED } from "../protocol.js";
import { sendProvenance } from "../provenance-header.js";
import { checkDimensions, finishEmbedding, float32Base64 } from "../vectors.js";
import { openaiEmbeddingsSchema } from "./schemas.js";

interface OpenAIEmbeddingsBody {
  input: EmbedInput | EmbedInput[];
  model?: string | null;
  encoding_format?: "float" | "base64" | null;
  dimensions?: number | null;
}

export function registerOpenAIRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const embeddings = async (req: FastifyRequest<{ Body: OpenAIEmbeddingsBody }>, reply: FastifyReply) => {
    const model = requireEmbedding(ctx);
    const body = req.body;
    const tokenizationStartedAt = performance.now();
    const { single, items, chars } = embedInputList(body.input, "input", ctx.options.maxClientBatchSize);
    checkDimensions(body.dimensions, model.info.dimension);
    const policy = lengthPolicy(ctx, model.info.maxLength, {});
    const where = (i: number) => (single ? "input" : `input[${i}]`);
    // OpenAI has no prompts: texts are embedded as given.
    const jobs = items.map((x, i): SequenceJob => ({ ...encodeEmbedInput(model.tokenizer, x, where(i), "", policy, model.info.vocabSize), output: OUTPUT_POOLED }));
    const pooled = await runInference(ctx, req, reply, { role: "embedding", family: "embed", method: single ? "single" : "batch", jobs, chars, tokenizationStartedAt });
    const base64 = body.encoding_format === "base64";
    const tokens = jobs.reduce((n, e) => n + e.ids.length, 0);
    sendProvenance(reply, { ...model.info.provenance, normalize: true, prompt: undefined, ...(body.dimensions ? { dimensions: body.dimensions } : {}), tokens });
    return {
      object: "list",
      data: pooled.map((v, index) => {
        const vector = finishEmbedding(v, true, body.dimensions);
        return { object: "embedding", index, embedding: base64 ? float32Base64(vector) : Array.from(vector) };
      }),
      model: model.id,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    };
  };
  app.post<{ Body: OpenAIEmbeddingsBody }>("/v1/embeddings", { schema: { body: openaiEmbeddingsSchema } }, embeddings);
  app.post<{ Body: OpenAIEmbeddingsBody }>("/embeddings", { schema: { body: openaiEmbeddingsSchema } }, embeddings);

  app.get("/v1/models", async () => ({
    object: "list",
    data: [ctx.embedding, ctx.classifier]
      .filter((m) => m !== undefined)
      .map((m) => ({ id: m.id, object: "model", created: ctx.startedAt, owned_by: "bert-ts" })),
  }));
}
