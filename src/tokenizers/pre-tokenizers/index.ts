import type { PreTokenizerJson } from "../tokenizer-json.js";
import { BertPreTokenizer } from "./bert-pre-tokenizer.js";
import { WholeTextPreTokenizer, type PreTokenizer } from "./pre-tokenizer.js";

export { WordSpans, WholeTextPreTokenizer, type PreTokenizer } from "./pre-tokenizer.js";
export { BertPreTokenizer } from "./bert-pre-tokenizer.js";

/** Builds the pre-tokenizer a tokenizer.json describes (null: the whole text is one word). */
export function createPreTokenizer(config: PreTokenizerJson | null | undefined): PreTokenizer {
  if (config === null || config === undefined) return new WholeTextPreTokenizer();
  switch (config.type) {
    case "BertPreTokenizer":
      return new BertPreTokenizer();
    default:
      throw new Error(`Unknown pre-tokenizer type: ${config.type}`);
  }
}
