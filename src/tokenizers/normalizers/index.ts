import type { BertNormalizerJson, NormalizerJson } from "../tokenizer-json.js";
import { BertNormalizer } from "./bert-normalizer.js";
import type { Normalizer } from "./normalizer.js";

export type { Normalizer } from "./normalizer.js";
export { BertNormalizer, type BertNormalizerOptions } from "./bert-normalizer.js";

/** Builds the normalizer a tokenizer.json describes (null: none). */
export function createNormalizer(config: NormalizerJson | null | undefined): Normalizer | null {
  if (config === null || config === undefined) return null;
  switch (config.type) {
    case "BertNormalizer": {
      const c = config as BertNormalizerJson;
      return new BertNormalizer({
        cleanText: c.clean_text ?? true,
        handleChineseChars: c.handle_chinese_chars ?? true,
        lowercase: c.lowercase ?? true,
        stripAccents: c.strip_accents ?? null,
        composeNfc: false,
      });
    }
    default:
      throw new Error(`Unknown normalizer type: ${config.type}`);
  }
}
