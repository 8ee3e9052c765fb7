import { ASCII_FLAGS, charFlags, PUNCTUATION, WHITESPACE } from "../unicode.js";
import type { PreTokenizer, WordSpans } from "./pre-tokenizer.js";

/**
 * Splits on whitespace, and makes every punctuation character a word of its own
 * (HF's whitespace_tokenize + _run_split_on_punc; the Rust BertPreTokenizer).
 */
export class BertPreTokenizer implements PreTokenizer {
  private readonly maxNeverSplitLength: number;

  /**
   * @param neverSplit whitespace-delimited words kept whole (the slow tokenizer's never_split; it
   *   also holds the special tokens, which matters when cleaning joins one, e.g. "[CL\u200bS]").
   */
  constructor(readonly neverSplit: ReadonlySet<string> = new Set()) {
    let max = 0;
    for (const w of neverSplit) max = Math.max(max, w.length);
    this.maxNeverSplitLength = max;
  }

  preTokenize(text: string, from: number, to: number, out: WordSpans): void {
    const checkNeverSplit = this.maxNeverSplitLength > 0;
    let i = from;
    let chunkEnd = from;
    while (i < to) {
      // Skip whitespace.
      let c = text.charCodeAt(i);
      if (c < 128) {
        if ((ASCII_FLAGS[c] & WHITESPACE) !== 0) {
          i++;
          continue;
        }
      } else if ((charFlags(codePointAt(text, i, to)) & WHITESPACE) !== 0) {
        i += c >= 0xd800 && c <= 0xdbff ? widthAt(text, i, to) : 1;
        continue;
      }
      // Only at the start of a whitespace-delimited chunk (scanning each chunk once keeps this linear).
      if (checkNeverSplit && i >= chunkEnd) {
        chunkEnd = this.findWhitespace(text, i, to);
        if (chunkEnd - i <= this.maxNeverSplitLength && this.neverSplit.has(text.slice(i, chunkEnd))) {
          out.push(i, chunkEnd);
          i = chunkEnd;
          continue;
        }
      }
      // One word: up to whitespace or punctuation; a punctuation character alone is a word.
      const start = i;
      while (i < to) {
        c = text.charCodeAt(i);
        let flags: number;
        let width = 1;
        if (c < 128) flags = ASCII_FLAGS[c];
        else {
          const cp = codePointAt(text, i, to);
          width = cp > 0xffff ? 2 : 1;
          flags = charFlags(cp);
        }
        if ((flags & WHITESPACE) !== 0) break;
        if ((flags & PUNCTUATION) !== 0) {
          if (i > start) break;
          i += width;
          break;
        }
        i += width;
      }
      out.push(start, i);
    }
  }

  private findWhitespace(text: string, from: number, to: number): number {
    let i = from;
    while (i < to) {
      const c = text.charCodeAt(i);
      if (c < 128) {
        if ((ASCII_FLAGS[c] & WHITESPACE) !== 0) return i;
        i++;
      } else {
        const cp = codePointAt(text, i, to);
        if ((charFlags(cp) & WHITESPACE) !== 0) return i;
        i += cp > 0xffff ? 2 : 1;
      }
    }
    return to;
  }
}

/** The code point at i, not reading past `to` (a high surrogate at to - 1 stays alone). */
function codePointAt(text: string, i: number, to: number): number {
  const c = text.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < to) {
    const d = text.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return ((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
  }
  return c;
}

function widthAt(text: string, i: number, to: number): number {
  return codePointAt(text, i, to) > 0xffff ? 2 : 1;
}
