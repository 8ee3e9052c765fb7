import type { BertNormalizerJson, NormalizerJson, PrecompiledJson, ReplaceJson, SequenceNormalizerJson, StripJson } from "../tokenizer-json.js";
import { BertNormalizer } from "./bert-normalizer.js";
import type { Normalizer } from "./normalizer.js";
import { PrecompiledNormalizer } from "./precompiled.js";
import { LowercaseNormalizer, ReplaceNormalizer, SequenceNormalizer, StripAccentsNormalizer, StripNormalizer, UnicodeNormalizer } from "./text-normalizers.js";

export type { Normalizer } from "./normalizer.js";
export { BertNormalizer, type BertNormalizerOptions } from "./bert-normalizer.js";
export { CharsMap, PrecompiledNormalizer } from "./precompiled.js";
export { SentencePieceNormalizer, SPACE_SYMBOL } from "./sentencepiece-normalizer.js";
export { AlbertPreprocess } from "./albert-preprocess.js";
export { SequenceNormalizer } from "./text-normalizers.js";

/** Builds the normalizer a tokenizer.json describes (null: none); `source` names the file in errors. */
export function createNormalizer(config: NormalizerJson | null | undefined, source = "tokenizer.json"): Normalizer | null {
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
    case "Precompiled": {
      const c = config as PrecompiledJson;
      // An empty charsmap (a model trained with the identity rule) normalizes nothing.
      if (c.precompiled_charsmap === null || c.precompiled_charsmap === "") return null;
      if (typeof c.precompiled_charsmap !== "string") throw new Error(`${source}: normalizer Precompiled.precompiled_charsmap is not a base64 string`);
      return new PrecompiledNormalizer(base64Bytes(c.precompiled_charsmap), `${source}: normalizer Precompiled`);
    }
    case "Replace": {
      const c = config as ReplaceJson;
      const p = c.pattern as Record<string, unknown> | undefined;
      const ok = typeof c.content === "string" && typeof p === "object" && p !== null && (typeof p.String === "string" || typeof p.Regex === "string");
      if (!ok) throw new Error(`${source}: normalizer Replace needs pattern {String|Regex} and content strings`);
      return new ReplaceNormalizer(c.pattern, c.content);
    }
    case "Strip": {
      const c = config as StripJson;
      return new StripNormalizer(c.strip_left ?? true, c.strip_right ?? true);
    }
    case "NFC":
    case "NFD":
    case "NFKC":
    case "NFKD":
      return new UnicodeNormalizer(config.type);
    case "Lowercase":
      return new LowercaseNormalizer();
    case "StripAccents":
      return new StripAccentsNormalizer();
    case "Sequence": {
      const c = config as SequenceNormalizerJson;
      if (!Array.isArray(c.normalizers)) throw new Error(`${source}: normalizer Sequence.normalizers is not an array`);
      const parts = c.normalizers.map((n) => createNormalizer(n, source)).filter((n): n is Normalizer => n !== null);
      return parts.length === 1 ? parts[0] : new SequenceNormalizer(parts);
    }
    default:
      throw new Error(`Unknown normalizer type: ${config.type}`);
  }
}

/**
 * Base64 as Node's Buffer.from(text, "base64") reads it, without Buffer (the browser has none): the
 * URL-safe alphabet is accepted, characters outside the alphabet are skipped, padding is optional.
 */
function base64Bytes(text: string): Uint8Array {
  const clean = text.replace(/-/g, "+").replace(/_/g, "/").replace(/[^A-Za-z0-9+/]/g, "");
  const whole = clean.length % 4 === 1 ? clean.slice(0, -1) : clean;
  const binary = atob(whole + "=".repeat((4 - (whole.length % 4)) % 4));
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}
