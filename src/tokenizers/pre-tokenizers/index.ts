import type { ByteLevelPreTokenizerJson, PreTokenizerJson } from "../tokenizer-json.js";
import { BertPreTokenizer } from "./bert-pre-tokenizer.js";
import { ByteLevelPreTokenizer } from "./byte-level.js";
import { WholeTextPreTokenizer, type PreTokenizer } from "./pre-tokenizer.js";

export { WordSpans, WholeTextPreTokenizer, type PreTokenizer, type RewrittenWord } from "./pre-tokenizer.js";
export { BertPreTokenizer } from "./bert-pre-tokenizer.js";
export { ByteLevelPreTokenizer, type ByteLevelOptions } from "./byte-level.js";

/** Builds the pre-tokenizer a tokenizer.json describes (null: the whole text is one word). */
export function createPreTokenizer(config: PreTokenizerJson | null | undefined): PreTokenizer {
  if (config === null || config === undefined) return new WholeTextPreTokenizer();
  switch (config.type) {
    case "BertPreTokenizer":
      return new BertPreTokenizer();
    case "ByteLevel": {
      const c = config as ByteLevelPreTokenizerJson;
      return new ByteLevelPreTokenizer({ addPrefixSpace: c.add_prefix_space ?? true, useRegex: c.use_regex ?? true });
    }
    default:
      throw new Error(`Unknown pre-tokenizer type: ${config.type}`);
  }
}
