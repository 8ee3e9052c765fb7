import { cleanUpTokenization } from "./cleanup.js";
import type { Decoder } from "./decoder.js";

/**
 * Joins WordPiece tokens: a token with the continuation prefix is glued to the previous one, any
 * other gets a space. With `cleanup` (tokenizer.json's default) each token is also cleaned up as
 * the Rust decoder does; the slow tokenizer does not (its clean-up runs once, on the whole text).
 */
export class WordPieceDecoder implements Decoder {
  constructor(
    private readonly prefix = "##",
    private readonly cleanup = false,
  ) {}

  decode(tokens: readonly string[]): string {
    let out = "";
    for (let i = 0; i < tokens.length; i++) {
      let token = tokens[i];
      if (i > 0) token = token.startsWith(this.prefix) ? token.slice(this.prefix.length) : " " + token;
      out += this.cleanup ? cleanUpTokenization(token) : token;
    }
    return out.trim();
  }
}
