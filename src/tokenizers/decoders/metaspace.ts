import type { Decoder } from "./decoder.js";

/**
 * tokenizers' Metaspace decoder (and SentencePiece's decoding of pieces): "▁" back to spaces, the
 * space the first token starts with removed when a prefix space was added.
 */
export class MetaspaceDecoder implements Decoder {
  constructor(
    private readonly replacement = "\u2581",
    private readonly stripFirst = true,
  ) {}

  decode(tokens: readonly string[]): string {
    let out = "";
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i].replaceAll(this.replacement, " ");
      out += i === 0 && this.stripFirst && t.startsWith(" ") ? t.slice(1) : t;
    }
    return out;
  }
}
