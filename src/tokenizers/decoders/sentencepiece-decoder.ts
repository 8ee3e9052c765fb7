import type { Decoder } from "./decoder.js";

const SPACE_SYMBOL = "\u2581";
const BYTE_PIECE = /^<0x([0-9A-F]{2})>$/;
const utf8 = new TextDecoder("utf-8");

/**
 * sentencepiece's DecodePieces: pieces joined, "▁" → " ", the first piece's leading "▁" dropped;
 * runs of `<0xXX>` byte pieces become their UTF-8 text (bad bytes → U+FFFD).
 */
export function decodePieces(pieces: readonly string[]): string {
  let out = "";
  let bytes: number[] = [];
  const flush = (): void => {
    if (bytes.length > 0) out += utf8.decode(Uint8Array.from(bytes));
    bytes = [];
  };
  for (let i = 0; i < pieces.length; i++) {
    const m = BYTE_PIECE.exec(pieces[i]);
    if (m !== null) {
      bytes.push(parseInt(m[1], 16));
      continue;
    }
    flush();
    const p = i === 0 && pieces[i].startsWith(SPACE_SYMBOL) ? pieces[i].slice(1) : pieces[i];
    out += p.replaceAll(SPACE_SYMBOL, " ");
  }
  flush();
  return out;
}

/**
 * The slow SentencePiece classes' convert_tokens_to_string:
 * - "join" (XLMRobertaTokenizer): "".join(tokens).replace("▁", " ").strip().
 * - "specials" (AlbertTokenizer, CamembertTokenizer): special tokens are written as they are, a
 *   space before the first of a run, and what lies between them goes through decodePieces; then strip().
 */
export class SentencePieceDecoder implements Decoder {
  constructor(
    private readonly mode: "join" | "specials",
    private readonly specials: ReadonlySet<string>,
  ) {}

  decode(tokens: readonly string[]): string {
    if (this.mode === "join") return tokens.join("").replaceAll(SPACE_SYMBOL, " ").trim();
    let out = "";
    let run: string[] = [];
    let prevSpecial = false;
    for (const t of tokens) {
      if (this.specials.has(t)) {
        if (!prevSpecial) out += " ";
        out += decodePieces(run) + t;
        run = [];
        prevSpecial = true;
      } else {
        run.push(t);
        prevSpecial = false;
      }
    }
    return (out + decodePieces(run)).trim();
  }
}
