import type { DecoderJson, MetaspaceDecoderJson, WordPieceDecoderJson } from "../tokenizer-json.js";
import { MetaspaceDecoder } from "./metaspace.js";
import { ByteLevelDecoder } from "./byte-level.js";
import type { Decoder } from "./decoder.js";
import { WordPieceDecoder } from "./wordpiece-decoder.js";

export type { Decoder } from "./decoder.js";
export { WordPieceDecoder } from "./wordpiece-decoder.js";
export { ByteLevelDecoder } from "./byte-level.js";
export { MetaspaceDecoder } from "./metaspace.js";
export { SentencePieceDecoder, decodePieces } from "./sentencepiece-decoder.js";
export { cleanUpTokenization } from "./cleanup.js";

/** Builds the decoder a tokenizer.json describes (null: tokens joined by spaces). */
export function createDecoder(config: DecoderJson | null | undefined): Decoder {
  if (config === null || config === undefined) return { decode: (tokens) => tokens.join(" ") };
  switch (config.type) {
    case "WordPiece": {
      const c = config as WordPieceDecoderJson;
      return new WordPieceDecoder(c.prefix ?? "##", c.cleanup ?? true);
    }
    case "ByteLevel":
      return new ByteLevelDecoder();
    case "Metaspace": {
      const c = config as MetaspaceDecoderJson;
      const strip = c.prepend_scheme !== undefined ? c.prepend_scheme !== "never" : c.add_prefix_space !== false;
      return new MetaspaceDecoder(c.replacement ?? "\u2581", strip);
    }
    default:
      throw new Error(`Unknown decoder type: ${config.type}`);
  }
}
