import type { ModelJson, WordPieceModelJson } from "../tokenizer-json.js";
import type { TokenizerModel } from "./model.js";
import { vocabFromObject } from "./vocab.js";
import { WordPiece } from "./wordpiece.js";

export type { TokenizerModel, WordPieces } from "./model.js";
export { WordPiece, type WordPieceOptions } from "./wordpiece.js";
export { loadVocabTxt, parseVocabTxt, vocabFromObject, type Vocab } from "./vocab.js";

/** Builds the model a tokenizer.json describes. */
export function createModel(config: ModelJson, source: string): TokenizerModel {
  switch (config.type) {
    case "WordPiece": {
      const c = config as WordPieceModelJson;
      return new WordPiece(vocabFromObject(c.vocab, source), {
        unkToken: c.unk_token ?? "[UNK]",
        continuingSubwordPrefix: c.continuing_subword_prefix ?? "##",
        maxInputCharsPerWord: c.max_input_chars_per_word ?? 100,
      });
    }
    case "BPE":
      throw new Error(`${source}: model type BPE (byte-level BPE, e.g. RoBERTa) is not supported yet`);
    default:
      throw new Error(`Unknown model type: ${config.type}`);
  }
}
