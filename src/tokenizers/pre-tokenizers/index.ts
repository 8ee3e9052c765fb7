import type { ByteLevelPreTokenizerJson, MetaspaceJson, PreTokenizerJson, SequencePreTokenizerJson } from "../tokenizer-json.js";
import { MetaspacePreTokenizer, WhitespaceSplitPreTokenizer, type PrependScheme } from "./metaspace.js";
import { SequencePreTokenizer } from "./sequence.js";
import { BertPreTokenizer } from "./bert-pre-tokenizer.js";
import { ByteLevelPreTokenizer } from "./byte-level.js";
import { WholeTextPreTokenizer, type PreTokenizer } from "./pre-tokenizer.js";

export { WordSpans, WholeTextPreTokenizer, type PreTokenizer, type RewrittenWord } from "./pre-tokenizer.js";
export { BertPreTokenizer } from "./bert-pre-tokenizer.js";
export { ByteLevelPreTokenizer, type ByteLevelOptions } from "./byte-level.js";
export { MetaspacePreTokenizer, WhitespaceSplitPreTokenizer } from "./metaspace.js";

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
    case "Metaspace": {
      const c = config as MetaspaceJson;
      const scheme: PrependScheme = c.prepend_scheme ?? (c.add_prefix_space === false ? "never" : "always");
      if (scheme !== "always" && scheme !== "first" && scheme !== "never") throw new Error(`Unknown Metaspace prepend_scheme: ${String(scheme)}`);
      return new MetaspacePreTokenizer({ replacement: metaspaceReplacement(c.replacement), prependScheme: scheme, split: c.split ?? true });
    }
    case "WhitespaceSplit":
      return new WhitespaceSplitPreTokenizer();
    case "Sequence": {
      const c = config as SequencePreTokenizerJson;
      if (!Array.isArray(c.pretokenizers)) throw new Error("pre_tokenizer Sequence.pretokenizers is not an array");
      return new SequencePreTokenizer(c.pretokenizers.map((p) => createPreTokenizer(p)));
    }
    default:
      throw new Error(`Unknown pre-tokenizer type: ${config.type}`);
  }
}

/** Metaspace's replacement: one character ("▁" unless the file says otherwise). */
export function metaspaceReplacement(value: unknown): string {
  const r = value ?? "\u2581";
  if (typeof r !== "string" || [...r].length !== 1 || r.length !== 1) throw new Error(`Metaspace replacement must be one character, got ${JSON.stringify(r)}`);
  return r;
}
