/**
 * text-embeddings-inference's routes: /embed, /embed_all, /predict, /tokenize, /decode — same
 * request fields, defaults, response shapes and error codes, so TEI clients work unchanged.
 */
import type { FastifyInstance } from "fastify";
import { applyClassificationFunction } from "../../pipelines/text-classification.js";
import type { SequenceJob } from "../batcher.js";
import { type ServerContext, lengthPolicy, requireClassifier, requireEmbedding } from "../context.js";
import { empty, invalid, tooLarge } from "../errors.js";
import { encodeInput, type SequenceInput } from "../inputs.js";
import { promptFor } from "../prompts.js";
import { pooledWidth, type PoolingStrategy } from "../../pooling/strategies.js";
import { OUTPUT_POOLED, OUTPUT_TOKENS, outputForPooling } from "../protocol.js";
import { sendProvenance } from "../provenance-header.js";
import { checkDimensions, finishEmbedding } from "../vectors.js";
import { decodeSchema, embedAllSchema, embedSchema, predictSchema, tokenizeSchema } from "./schemas.js";

interface TruncationFields {
  truncate?: boolean | null;
  truncation_direction?: string | null;
}
interface EmbedBody extends TruncationFields {
  inputs: string | string[];
  prompt_name?: string | null;
  normalize: boolean;
  dimensions?: number | null;
  /** bert-ts's own: another pooling than the model's for this request. */
  pooling?: PoolingStrategy | null;
}
interface EmbedAllBody extends TruncationFields {
  inputs: string | string[];
  prompt_name?: string | null;
}
interface PredictBody extends TruncationFields {
  inputs: string | string[] | string[][];
  raw_scores: boolean;
}
interface TokenizeBody {
  inputs: string | string[];
  prompt_name?: string | null;
  add_special_tokens: boolean;
}
interface DecodeBody {
  ids: number[] | number[][];
  skip_special_tokens: boolean;
}

/** A request's inputs as a list, with TEI's checks on their number. */
export function inputList<T>(inputs: T | T[], isSingle: (x: T | T[]) => x is T, maxClientBatchSize: number): T[] {
  const list = isSingle(inputs) ? [inputs] : inputs;
  if (list.length === 0) throw empty();
  if (list.length > maxClientBatchSize) throw tooLarge(`batch size ${list.length} > maximum allowed batch size ${maxClientBatchSize}`);
  return list;
}

const isString = (x: unknown): x is string => typeof x === "string";

/** TEI's reading of /predict inputs: "a", ["a"] and ["a", "b"] (a pair) are single; [["a"], ["a", "b"]] a batch. */
function predictInputs(inputs: PredictBody["inputs"], max: number): { single: boolean; list: SequenceInput[] } {
  const asSequence = (x: string[]): SequenceInput => (x.length === 1 ? x[0] : [x[0], x[1]]);
  if (typeof inputs === "string") return { single: true, list: [inputs] };
  if (inputs.length > 0 && inputs.every(isString)) return { single: true, list: [asSequence(inputs as string[])] };
  const batch = inputs as string[][];
  return { single: false, list: inputList<string[]>(batch, (x): x is string[] => false, max).map(asSequence) };
}

/** UTF-8 byte offset of every UTF-16 index of text (TEI reports byte offsets). */
function utf8Offsets(text: string): Int32Array {
  const out = new Int32Array(text.length + 1);
  const isHigh = (i: number) => (text.charCodeAt(i) & 0xfc00) === 0xd800;
  const isLow = (i: number) => (text.charCodeAt(i) & 0xfc00) === 0xdc00;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // A surrogate pair is 4 bytes (2 per half); a lone surrogate becomes U+FFFD, 3 bytes.
    const paired = (isHigh(i) && i + 1 < text.length && isLow(i + 1)) || (isLow(i) && i > 0 && isHigh(i - 1));
    out[i + 1] = out[i] + (c < 0x80 ? 1 : c < 0x800 ? 2 : paired ? 2 : 3);
  }
  return out;
}

/** Every token's vector comes back as JSON numbers: refuse a response that would be huge. */
function checkEmbedAllSize(jobs: readonly SequenceJob[], hiddenSize: number, maxValues: number): void {
  const tokens = jobs.reduce((n, j) => n + j.ids.length, 0);
  if (tokens * hiddenSize > maxValues) {
    throw tooLarge(
      `/embed_all would return ${tokens} tokens × ${hiddenSize} values, more than the limit of ${maxValues} values per response: send fewer or shorter inputs`,
    );
  }
}

export function registerTeiRoutes(app: FastifyInstance, ctx: ServerContext): void {
  const max = ctx.options.maxClientBatchSize;

  app.post<{ Body: EmbedBody }>("/embed", { schema: { body: embedSchema } }, async (req, reply) => {
    const model = requireEmbedding(ctx);
    const prompt = promptFor(model, req.body);
    const texts = inputList(req.body.inputs, isString, max).map((t) => prompt + t);
    const pooling = req.body.pooling ?? undefined;
    if (pooling === "pooler" && !model.info.hasPooler) throw invalid('`pooling` "pooler" is unavailable: the model has no pooler weights; use "cls" for the raw [CLS] vector');
    const ownPooling = pooling === undefined || pooling === model.info.pooling;
    checkDimensions(req.body.dimensions, ownPooling ? model.info.dimension : pooledWidth(pooling, model.info.hiddenSize));
    const policy = lengthPolicy(ctx, model.info.maxLength, req.body);
    const jobs = texts.map((t): SequenceJob => ({ ...encodeInput(model.tokenizer, t, policy), output: outputForPooling(pooling) }));
    const pooled = await ctx.batcher.submit("embedding", jobs, req.headers);
    sendProvenance(reply, {
      ...model.info.provenance,
      pooling: pooling ?? model.info.pooling,
      ...(ownPooling ? {} : { pooling_source: `chosen per request; the model's own is ${model.info.pooling}` }),
      normalize: req.body.normalize,
      prompt: prompt || undefined,
      ...(req.body.dimensions ? { dimensions: req.body.dimensions } : {}),
      tokens: jobs.reduce((n, j) => n + j.ids.length, 0),
    });
    return pooled.map((v) => Array.from(finishEmbedding(v, req.body.normalize, req.body.dimensions)));
  });

  app.post<{ Body: EmbedAllBody }>("/embed_all", { schema: { body: embedAllSchema } }, async (req, reply) => {
    const model = requireEmbedding(ctx);
    const prompt = promptFor(model, req.body);
    const texts = inputList(req.body.inputs, isString, max).map((t) => prompt + t);
    const policy = lengthPolicy(ctx, model.info.maxLength, req.body);
    const jobs = texts.map((t): SequenceJob => ({ ...encodeInput(model.tokenizer, t, policy), output: OUTPUT_TOKENS }));
    checkEmbedAllSize(jobs, model.info.hiddenSize, ctx.options.maxEmbedAllValues);
    const results = await ctx.batcher.submit("embedding", jobs, req.headers);
    sendProvenance(reply, { ...model.info.provenance, pooling: "none", normalize: false, prompt: prompt || undefined, tokens: jobs.reduce((n, j) => n + j.ids.length, 0) });
    const h = model.info.hiddenSize;
    return results.map((r) => Array.from({ length: r.length / h }, (_, t) => Array.from(r.subarray(t * h, (t + 1) * h))));
  });

  app.post<{ Body: PredictBody }>("/predict", { schema: { body: predictSchema } }, async (req, reply) => {
    const model = requireClassifier(ctx);
    const { single, list } = predictInputs(req.body.inputs, max);
    const policy = lengthPolicy(ctx, model.maxLength, req.body);
    const jobs = list.map((x): SequenceJob => ({ ...encodeInput(model.tokenizer, x, policy), output: OUTPUT_POOLED }));
    const logits = await ctx.batcher.submit("classifier", jobs, req.headers);
    sendProvenance(reply, { ...model.info.provenance, tokens: jobs.reduce((n, j) => n + j.ids.length, 0) });
    const fn = req.body.raw_scores ? "none" : model.info.defaultFunction;
    const predictions = logits.map((row) => {
      const scores = applyClassificationFunction(row, fn);
      // Best first; ties keep label order.
      return scores.map((score, i) => ({ score, label: model.info.labels[i] })).sort((a, b) => b.score - a.score);
    });
    return single ? predictions[0] : predictions;
  });

  app.post<{ Body: TokenizeBody }>("/tokenize", { schema: { body: tokenizeSchema } }, async (req) => {
    const { tokenizer } = ctx.embedding ?? requireClassifier(ctx);
    if (!ctx.embedding && req.body.prompt_name != null) throw invalid("`prompt_name` needs an embedding model (--model)");
    const prompt = ctx.embedding ? promptFor(ctx.embedding, req.body) : "";
    const texts = inputList(req.body.inputs, isString, max).map((t) => prompt + t);
    const chars = texts.reduce((n, t) => n + t.length, 0);
    if (chars > ctx.options.maxTokenizeChars) {
      throw tooLarge(`/tokenize takes at most ${ctx.options.maxTokenizeChars} characters per request; given ${chars}`);
    }
    return texts.map((text) => {
      const enc = tokenizer.encode(text, null, { addSpecialTokens: req.body.add_special_tokens, truncation: false });
      const bytes = utf8Offsets(text);
      return enc.inputIds.map((id, k) => {
        const special = enc.specialTokensMask[k] === 1;
        const [s, e] = enc.offsets[k];
        return special
          ? { id, text: enc.tokens[k], special, start: null, stop: null }
          : { id, text: text.slice(s, e), special, start: bytes[s], stop: bytes[e] };
      });
    });
  });

  app.post<{ Body: DecodeBody }>("/decode", { schema: { body: decodeSchema } }, async (req) => {
    const { tokenizer } = ctx.embedding ?? requireClassifier(ctx);
    const ids = req.body.ids;
    const batch = ids.length > 0 && Array.isArray(ids[0]) ? (ids as number[][]) : [ids as number[]];
    inputList<number[]>(batch, (x): x is number[] => false, max);
    return batch.map((seq) => tokenizer.decode(seq, { skipSpecialTokens: req.body.skip_special_tokens }));
  });
}
