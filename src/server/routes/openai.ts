/**
 * OpenAI's embeddings API (POST /v1/embeddings), so OpenAI clients can use bert-ts by changing
 * only their base URL. Vectors are L2-normalised (as OpenAI's are), `dimensions` truncates then
 * re-normalises, and token-id arrays are taken as this model's vocabulary ids, used as given.
 */
import type { FastifyInstance } from "fastify";
import type { SequenceJob } from "../batcher.js";
import { type ServerContext, lengthPolicy, requireEmbedding } from "../context.js";
import { encodeIds, encodeInput, type EncodedInput } from "../inputs.js";
import { OUTPUT_POOLED } from "../protocol.js";
import { sendProvenance } from "../provenance-header.js";
import { checkDimensions, finishEmbedding, float32Base64 } from "../vectors.js";
import { openaiEmbeddingsSchema } from "./schemas.js";
import { inputList } from "./tei.js";

interface OpenAIEmbeddingsBody {
  input: string | string[] | number[] | number[][];
  model?: string | null;
  encoding_format?: "float" | "base64" | null;
  dimensions?: number | null;
}

type OneInput = string | number[];
const isOne = (x: OneInput | OneInput[]): x is OneInput => typeof x === "string" || (x.length > 0 && typeof x[0] === "number");

export function registerOpenAIRoutes(app: FastifyInstance, ctx: ServerContext): void {
  app.post<{ Body: OpenAIEmbeddingsBody }>("/v1/embeddings", { schema: { body: openaiEmbeddingsSchema } }, async (req, reply) => {
    const model = requireEmbedding(ctx);
    const body = req.body;
    const inputs = inputList<OneInput>(body.input as OneInput | OneInput[], isOne, ctx.options.maxClientBatchSize);
    checkDimensions(body.dimensions, model.info.dimension);
    const policy = lengthPolicy(ctx, model.info.maxLength, {});
    const encoded: EncodedInput[] = inputs.map((x) =>
      typeof x === "string" ? encodeInput(model.tokenizer, x, policy) : encodeIds(x, model.info.vocabSize, policy),
    );
    const pooled = await ctx.batcher.submit("embedding", encoded.map((e): SequenceJob => ({ ...e, output: OUTPUT_POOLED })), req.headers);
    const base64 = body.encoding_format === "base64";
    const tokens = encoded.reduce((n, e) => n + e.ids.length, 0);
    sendProvenance(reply, { ...model.info.provenance, normalize: true, prompt: undefined, ...(body.dimensions ? { dimensions: body.dimensions } : {}), tokens });
    return {
      object: "list",
      data: pooled.map((v, index) => {
        const vector = finishEmbedding(v, true, body.dimensions);
        return { object: "embedding", index, embedding: base64 ? float32Base64(vector) : Array.from(vector) };
      }),
      model: ctx.modelId,
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    };
  });
}
