/**
 * JSON schemas of the request bodies (fastify validates them with ajv before a handler runs; types
 * are never coerced). Field names and defaults follow text-embeddings-inference and OpenAI. Counts
 * and lengths are checked in the handlers, to answer with TEI's messages and status codes.
 */
import { POOLING_STRATEGIES } from "../../pooling/strategies.js";

/** `description`s finish the sentence "`field` must be …" in validation errors (validation-messages.ts). */
const stringOrStrings = {
  description: "a string or a list of strings",
  anyOf: [{ type: "string" }, { type: "array", items: { type: "string" } }],
} as const;

const tokenId = { type: "integer", minimum: 0, maximum: 4294967295 } as const;

/**
 * TEI's `Input`: a text or a list of token ids is one input; a list of texts and/or token-id lists
 * is a batch. Emptiness ("", [], [[]]) is the handler's to refuse, with TEI's message.
 */
const embedInputs = {
  description: "a string, a list of token ids, or a list of strings and/or lists of token ids",
  anyOf: [
    { type: "string" },
    { type: "array", items: tokenId },
    { type: "array", items: { anyOf: [{ type: "string" }, { type: "array", items: tokenId }] } },
  ],
} as const;

const truncation = {
  truncate: { type: ["boolean", "null"] },
  truncation_direction: { type: ["string", "null"], enum: ["Right", "Left", "right", "left", null] },
} as const;

/** Poolings a request may choose (bert-ts's own field; "none" is /embed_all). */
const POOLING_FIELD = { type: ["string", "null"], enum: [...POOLING_STRATEGIES.filter((p) => p !== "none"), null] };

export const embedSchema = {
  type: "object",
  required: ["inputs"],
  properties: {
    inputs: embedInputs,
    normalize: { type: "boolean", default: true },
    dimensions: { type: ["integer", "null"], minimum: 1 },
    pooling: POOLING_FIELD,
    prompt_name: { type: ["string", "null"] },
    ...truncation,
  },
} as const;

export const explainSchema = {
  type: "object",
  required: ["inputs"],
  properties: { inputs: { type: "string" }, ...truncation },
} as const;

export const embedAllSchema = {
  type: "object",
  required: ["inputs"],
  properties: { inputs: embedInputs, prompt_name: { type: ["string", "null"] }, ...truncation },
} as const;

/** TEI's SimilarityRequest (the Inference API's sentence-similarity task). */
export const similaritySchema = {
  type: "object",
  required: ["inputs"],
  properties: {
    inputs: {
      type: "object",
      required: ["source_sentence", "sentences"],
      properties: { source_sentence: { type: "string" }, sentences: { type: "array", items: { type: "string" } } },
    },
    parameters: {
      type: ["object", "null"],
      properties: { prompt_name: { type: ["string", "null"] }, ...truncation },
    },
  },
} as const;

export const predictSchema = {
  type: "object",
  required: ["inputs"],
  properties: {
    inputs: {
      description: "a string, a pair [string, string], or a list of [string] and [string, string]",
      anyOf: [
        { type: "string" },
        { type: "array", items: { type: "string" }, minItems: 1, maxItems: 2 },
        { type: "array", items: { type: "array", items: { type: "string" }, minItems: 1, maxItems: 2 } },
      ],
    },
    raw_scores: { type: "boolean", default: false },
    ...truncation,
  },
} as const;

export const tokenizeSchema = {
  type: "object",
  required: ["inputs"],
  properties: {
    inputs: stringOrStrings,
    add_special_tokens: { type: "boolean", default: true },
    prompt_name: { type: ["string", "null"] },
  },
} as const;

export const decodeSchema = {
  type: "object",
  required: ["ids"],
  properties: {
    ids: { description: "a list of token ids or a list of lists of token ids", anyOf: [{ type: "array", items: tokenId }, { type: "array", items: { type: "array", items: tokenId } }] },
    skip_special_tokens: { type: "boolean", default: true },
  },
} as const;

export const openaiEmbeddingsSchema = {
  type: "object",
  required: ["input"],
  properties: {
    // OpenAI's shapes; TEI also takes a list mixing texts and token lists, and so does bert-ts.
    input: embedInputs,
    model: { type: ["string", "null"] },
    encoding_format: { type: ["string", "null"], enum: ["float", "base64", null] },
    dimensions: { type: ["integer", "null"], minimum: 1 },
    user: { type: ["string", "null"] },
  },
} as const;
