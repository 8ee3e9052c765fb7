import type { BpeModelJson, ModelJson, UnigramModelJson, WordPieceModelJson } from "../tokenizer-json.js";
import { Unigram } from "./unigram.js";
import { Bpe, splitMerge } from "./bpe.js";
import type { TokenizerModel } from "./model.js";
import { vocabFromObject } from "./vocab.js";
import { WordPiece } from "./wordpiece.js";

export type { TokenizerModel, WordPieces } from "./model.js";
export { WordPiece, type WordPieceOptions } from "./wordpiece.js";
export { loadVocabTxt, parseVocabTxt, vocabFromObject, type Vocab } from "./vocab.js";
export { Bpe, parseMerges, splitMerge, type BpeOptions } from "./bpe.js";
export { Unigram, type UnigramPiece, type UnigramOptions } from "./unigram.js";

/** Builds the model a tokenizer.json describes. */
export function createModel(config: ModelJson, source: string): TokenizerModel {
  switch (config.type) {
    case "WordPiece": {
      const c = config as WordPieceModelJson;
      const maxChars = c.max_input_chars_per_word ?? 100;
      // -1 or 0 would silently turn every word into [UNK]: refuse it.
      if (!Number.isInteger(maxChars) || maxChars < 1) {
        throw new Error(`${source}: expected a positive integer for model.max_input_chars_per_word but received ${JSON.stringify(maxChars)}`);
      }
      for (const key of ["unk_token", "continuing_subword_prefix"] as const) {
        if (c[key] !== undefined && typeof c[key] !== "string") throw new Error(`${source}: expected a string for model.${key} but received ${JSON.stringify(c[key])}`);
      }
      return new WordPiece(vocabFromObject(c.vocab, source), {
        unkToken: c.unk_token ?? "[UNK]",
        continuingSubwordPrefix: c.continuing_subword_prefix ?? "##",
        maxInputCharsPerWord: maxChars,
      });
    }
    case "BPE":
      return bpeFromJson(config as BpeModelJson, source);
    case "Unigram":
      return unigramFromJson(config as UnigramModelJson, source);
    default:
      throw new Error(`Unknown model type: ${config.type}`);
  }
}

function bpeFromJson(c: BpeModelJson, source: string): Bpe {
  // Options that change results and that we do not implement are refused, never ignored.
  if (typeof c.dropout === "number" && c.dropout > 0) throw new Error(`${source}: BPE dropout is not supported`);
  if (c.continuing_subword_prefix || c.end_of_word_suffix) throw new Error(`${source}: BPE continuing_subword_prefix / end_of_word_suffix are not supported`);
  if (c.byte_fallback) throw new Error(`${source}: BPE byte_fallback is not supported`);
  if (!Array.isArray(c.merges)) throw new Error(`${source}: model.merges is missing or not an array`);
  const merges = c.merges.map((m, i) => splitMerge(m, `${source}: model.merges[${i}]`));
  return new Bpe(vocabFromObject(c.vocab, source), merges, {
    unkToken: c.unk_token ?? null,
    fuseUnk: c.fuse_unk ?? false,
    ignoreMerges: c.ignore_merges ?? false,
  });
}

function unigramFromJson(c: UnigramModelJson, source: string): Unigram {
  if (!Array.isArray(c.vocab) || c.vocab.length === 0) throw new Error(`${source}: model.vocab is missing or empty (Unigram wants [piece, score] pairs)`);
  const pieces = c.vocab.map((entry, i) => {
    if (!Array.isArray(entry) || typeof entry[0] !== "string" || typeof entry[1] !== "number") {
      throw new Error(`${source}: model.vocab[${i}] is not a [piece, score] pair`);
    }
    return { piece: entry[0], score: entry[1], kind: "normal" as const };
  });
  if (c.unk_id === null || c.unk_id === undefined) throw new Error(`${source}: Unigram model without unk_id is not supported`);
  if (!Number.isInteger(c.unk_id) || c.unk_id < 0 || c.unk_id >= pieces.length) throw new Error(`${source}: model.unk_id ${c.unk_id} is not a vocabulary id`);
  return new Unigram(pieces, { unkId: c.unk_id, byteFallback: c.byte_fallback ?? false, flavor: "tokenizers" });
}
