/**
 * POST /explain {"inputs": "text", "truncate"?}: what the embedding model's pooling looks at, one
 * value per token (see src/pooling/explain.ts) — the numbers `bert-ts explain` prints and the page
 * at / draws. Answers {"pooling", "measure": "weight" | "dimensions_won", "tokens", "values"}.
 */
import type { FastifyInstance } from "fastify";
import { explanationMeasure } from "../../pooling/explain.js";
import type { SequenceJob } from "../batcher.js";
import { type ServerContext, lengthPolicy, requireEmbedding } from "../context.js";
import { encodeInput } from "../inputs.js";
import { OUTPUT_EXPLAIN } from "../protocol.js";
import { explainSchema } from "./schemas.js";

interface ExplainBody {
  inputs: string;
  truncate?: boolean | null;
  truncation_direction?: string | null;
}

export function registerExplainRoute(app: FastifyInstance, ctx: ServerContext): void {
  app.post<{ Body: ExplainBody }>("/explain", { schema: { body: explainSchema } }, async (req) => {
    const model = requireEmbedding(ctx);
    const job: SequenceJob = { ...encodeInput(model.tokenizer, req.body.inputs, lengthPolicy(ctx, model.info.maxLength, req.body)), output: OUTPUT_EXPLAIN };
    const [values] = await ctx.batcher.submit("embedding", [job]);
    const pooling = model.info.pooling;
    return {
      pooling,
      measure: explanationMeasure(pooling),
      tokens: model.tokenizer.convertIdsToTokens(job.ids) as string[],
      values: Array.from(values),
    };
  });
}
