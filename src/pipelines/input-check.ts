/**
 * Checks that tie a tokenizer to the model it feeds: once at load (every id the tokenizer can give
 * must index the embedding table) and per input before batching, so one bad input is rejected
 * alone, with its index, instead of failing the forward pass of everything batched with it.
 */
import type { BertConfig } from "../config/bert-config.js";
import { emitWarning } from "../io/host.js";
import type { Encoding, IdsEncoding } from "../tokenizers/encoding.js";
import type { Tokenizer } from "../tokenizers/tokenizer.js";

/** One input the model cannot take; `index` is its position in the caller's list. */
export class InvalidInputError extends Error {
  constructor(
    readonly index: number,
    detail: string,
  ) {
    super(`Input ${index}: ${detail}`);
    this.name = "InvalidInputError";
  }
}

/**
 * Refuses a tokenizer whose special tokens lie outside config.json's vocab_size (every input would
 * fail); warns when only other ids do (inputs using them are then refused one by one).
 */
export function checkTokenizerFitsModel(tokenizer: Tokenizer, config: BertConfig, dir: string): void {
  const vocab = config.vocab_size;
  const specials = tokenizer.allSpecialIds.filter((id) => id >= vocab);
  const where = `${dir}: the tokenizer files (tokenizer.json or vocab.txt / vocab.json)`;
  if (specials.length > 0) {
    const id = Math.max(...specials);
    throw new Error(
      `${where} give special token ${JSON.stringify(tokenizer.convertIdsToTokens(id))} id ${id}, but config.json "vocab_size" is ${vocab}: expected every id below it (a special token missing from the vocabulary, or tokenizer and weights that do not belong together)`,
    );
  }
  if (tokenizer.vocabSize > vocab) {
    emitWarning(
      `${where} hold ${tokenizer.vocabSize} tokens, more than config.json "vocab_size" ${vocab}: texts containing tokens with ids >= ${vocab} will be refused`,
      { type: "BertTsWarning", code: "BERT_TS_VOCAB_SIZE" },
    );
  }
}

/** Throws InvalidInputError when an encoding holds an id the model's tables cannot look up. */
export function checkEncoding(encoding: Encoding | IdsEncoding, index: number, config: BertConfig, tokenOf?: (id: number) => string): void {
  const { inputIds, tokenTypeIds } = encoding;
  for (let t = 0; t < inputIds.length; t++) {
    if (inputIds[t] < 0 || inputIds[t] >= config.vocab_size) {
      // An IdsEncoding carries no token strings: the tokenizer names the token instead.
      const token = "tokens" in encoding ? encoding.tokens[t] : tokenOf?.(inputIds[t]) ?? "";
      throw new InvalidInputError(index, `token ${JSON.stringify(token)} has id ${inputIds[t]}, outside config.json "vocab_size" ${config.vocab_size}`);
    }
    const type = tokenTypeIds?.[t] ?? 0;
    if (type < 0 || type >= config.type_vocab_size) {
      throw new InvalidInputError(index, `token type id ${type} is outside config.json "type_vocab_size" ${config.type_vocab_size} (a text pair for a model without segment ids?)`);
    }
  }
}

/** A vector with NaN or ±Inf in it: the weights hold such values, or the arithmetic overflowed. */
export class NonFiniteOutputError extends Error {
  constructor(
    readonly index: number,
    detail: string,
  ) {
    super(`Input ${index}: ${detail}`);
    this.name = "NonFiniteOutputError";
  }
}

/** What to do with a non-finite output vector: throw (default) or warn and return it as it is. */
export type NonFiniteMode = "error" | "warn";

/** Throws (or warns about) the first non-finite value of `vector`, naming the input. Cost: one pass. */
export function checkFinite(vector: Float32Array, index: number, mode: NonFiniteMode = "error"): void {
  for (let i = 0; i < vector.length; i++) {
    if (Number.isFinite(vector[i])) continue;
    const detail = `the model produced ${vector[i]} at dimension ${i} of ${vector.length}: its weights hold NaN/Inf or the values overflowed float32`;
    if (mode === "warn") {
      emitWarning(`Input ${index}: ${detail}`, { type: "BertTsWarning", code: "BERT_TS_NON_FINITE" });
      return;
    }
    throw new NonFiniteOutputError(index, detail);
  }
}
