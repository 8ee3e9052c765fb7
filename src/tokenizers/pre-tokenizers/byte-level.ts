/**
 * Byte-level pre-tokenization (GPT-2, RoBERTa; tokenizers' ByteLevel pre-tokenizer): splits text
 * with GPT-2's pattern
 *
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 *
 * and rewrites each word as one printable character per UTF-8 byte (byte-to-unicode.ts), so the
 * BPE model sees e.g. " café" as "ĠcafÃ©". The pattern is run by a hand-written scanner, not a
 * RegExp: one pass, no backtracking, linear on any input (a megabyte of spaces included).
 * \s is Unicode White_Space, as in Python's `regex` module and Oniguruma.
 *
 * Lone surrogates (a JS string can hold one; UTF-8 cannot) are encoded as U+FFFD's bytes, where
 * Python's `str.encode("utf-8")` would raise: bad input never throws here.
 */
import { BYTE_TO_CHAR, SPACE_CHAR } from "../byte-to-unicode.js";
import type { PreTokenizer, RewrittenWord, WordSpans } from "./pre-tokenizer.js";

export interface ByteLevelOptions {
  /**
   * Put a space before each text segment that does not start with one (tokenizers' rule: the
   * segments between added tokens each get one), so a first word is split like a later one.
   */
  addPrefixSpace: boolean;
  /** Split with GPT-2's pattern; false: each segment is one word. */
  useRegex: boolean;
}

const LETTER = 1;
const NUMBER = 2;
const SPACE = 3;
const OTHER = 4;
const KNOWN = 8;

/** Lazily filled class per code point (low bits: LETTER/NUMBER/SPACE/OTHER). */
const classes = new Uint8Array(0x110000);
const letterRe = /^\p{L}$/u;
const numberRe = /^\p{N}$/u;
const spaceRe = /^\p{White_Space}$/u;

function classOf(cp: number): number {
  let c = classes[cp];
  if (c === 0) {
    // A lone surrogate is its own char here (category Cs): OTHER, as in Python.
    const ch = cp >= 0xd800 && cp <= 0xdfff ? "" : String.fromCodePoint(cp);
    c = KNOWN | (letterRe.test(ch) ? LETTER : numberRe.test(ch) ? NUMBER : spaceRe.test(ch) ? SPACE : OTHER);
    classes[cp] = c;
  }
  return c & 7;
}
for (let cp = 0; cp < 128; cp++) classOf(cp);

/** Words remembered by the rewrite cache before it starts over; longer words are not cached. */
const CACHE_LIMIT = 100_000;
const CACHE_MAX_WORD = 64;

export class ByteLevelPreTokenizer implements PreTokenizer {
  readonly options: ByteLevelOptions;
  private readonly cache = new Map<string, RewrittenWord>();
  /** Scratch for building rewritten words (grows). */
  private codes = new Uint16Array(256);
  private starts = new Int32Array(256);
  private ends = new Int32Array(256);

  constructor(options: Partial<ByteLevelOptions> = {}) {
    this.options = { addPrefixSpace: options.addPrefixSpace ?? false, useRegex: options.useRegex ?? true };
  }

  preTokenize(text: string, from: number, to: number, out: WordSpans): void {
    if (to <= from) return;
    if (this.options.addPrefixSpace && text.charCodeAt(from) !== 0x20) {
      this.preTokenizePrefixed(text, from, to, out);
      return;
    }
    if (!this.options.useRegex) {
      out.pushRewritten(from, to, this.rewrite(text, from, to, false));
      return;
    }
    let i = from;
    while (i < to) {
      const end = nextWordEnd(text, i, to);
      out.pushRewritten(i, end, this.rewrite(text, i, end, false));
      i = end;
    }
  }

  /**
   * tokenizers prepends " " to the segment, aligned to its first char. Scan the prefixed copy and
   * shift the spans back; the first word carries the extra space (its span may be empty, when the
   * space stands alone before other whitespace).
   */
  private preTokenizePrefixed(text: string, from: number, to: number, out: WordSpans): void {
    const copy = " " + text.slice(from, to);
    let i = 0;
    while (i < copy.length) {
      const end = this.options.useRegex ? nextWordEnd(copy, i, copy.length) : copy.length;
      if (i === 0) out.pushRewritten(from, from + end - 1, this.rewrite(text, from, from + end - 1, true));
      else out.pushRewritten(from + i - 1, from + end - 1, this.rewrite(text, from + i - 1, from + end - 1, false));
      i = end;
    }
  }

  /** The byte-level form of text[start, end), optionally after an added space. */
  rewrite(text: string, start: number, end: number, prefixSpace: boolean): RewrittenWord {
    const cacheable = !prefixSpace && end - start <= CACHE_MAX_WORD;
    let key = "";
    if (cacheable) {
      key = text.slice(start, end);
      const hit = this.cache.get(key);
      if (hit !== undefined) return hit;
    }
    const word = this.build(text, start, end, prefixSpace);
    if (cacheable) {
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(key, word);
    }
    return word;
  }

  private build(text: string, start: number, end: number, prefixSpace: boolean): RewrittenWord {
    // At most 3 bytes per code unit (a surrogate pair is 2 units, 4 bytes), plus the prefix.
    const cap = 3 * (end - start) + 1;
    if (this.codes.length < cap) {
      let n = this.codes.length;
      while (n < cap) n *= 2;
      this.codes = new Uint16Array(n);
      this.starts = new Int32Array(n);
      this.ends = new Int32Array(n);
    }
    const codes = this.codes;
    const starts = this.starts;
    const ends = this.ends;
    let n = 0;
    let oneToOne = !prefixSpace;
    if (prefixSpace) {
      // The added space is aligned to the first char, as tokenizers' NormalizedString.prepend does.
      codes[n] = SPACE_CHAR;
      starts[n] = 0;
      ends[n] = start < end ? charWidth(text, start, end) : 0;
      n++;
    }
    for (let i = start; i < end; ) {
      let cp = text.charCodeAt(i);
      let width = 1;
      if (cp >= 0xd800 && cp <= 0xdfff) {
        const d = cp <= 0xdbff && i + 1 < end ? text.charCodeAt(i + 1) : 0;
        if (d >= 0xdc00 && d <= 0xdfff) {
          cp = ((cp - 0xd800) << 10) + (d - 0xdc00) + 0x10000;
          width = 2;
        } else cp = 0xfffd;
      }
      const s = i - start;
      const e = s + width;
      if (cp < 0x80) {
        codes[n] = BYTE_TO_CHAR[cp];
        starts[n] = s;
        ends[n++] = e;
      } else {
        oneToOne = false;
        if (cp < 0x800) {
          n = put(codes, starts, ends, n, 0xc0 | (cp >> 6), s, e);
        } else if (cp < 0x10000) {
          n = put(codes, starts, ends, n, 0xe0 | (cp >> 12), s, e);
          n = put(codes, starts, ends, n, 0x80 | ((cp >> 6) & 0x3f), s, e);
        } else {
          n = put(codes, starts, ends, n, 0xf0 | (cp >> 18), s, e);
          n = put(codes, starts, ends, n, 0x80 | ((cp >> 12) & 0x3f), s, e);
          n = put(codes, starts, ends, n, 0x80 | ((cp >> 6) & 0x3f), s, e);
        }
        n = put(codes, starts, ends, n, 0x80 | (cp & 0x3f), s, e);
      }
      i += width;
    }
    const rewritten = charCodesToString(codes, n);
    if (oneToOne) return { text: rewritten, starts: null, ends: null };
    return { text: rewritten, starts: starts.slice(0, n), ends: ends.slice(0, n) };
  }
}

function put(codes: Uint16Array, starts: Int32Array, ends: Int32Array, n: number, byte: number, s: number, e: number): number {
  codes[n] = BYTE_TO_CHAR[byte];
  starts[n] = s;
  ends[n] = e;
  return n + 1;
}

function charCodesToString(codes: Uint16Array, n: number): string {
  if (n <= 4096) return String.fromCharCode.apply(null, codes.subarray(0, n) as unknown as number[]);
  const parts: string[] = [];
  for (let k = 0; k < n; k += 4096) parts.push(String.fromCharCode.apply(null, codes.subarray(k, Math.min(n, k + 4096)) as unknown as number[]));
  return parts.join("");
}

/** Width (1 or 2 code units) of the char at i. */
function charWidth(text: string, i: number, to: number): number {
  const c = text.charCodeAt(i);
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < to) {
    const d = text.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return 2;
  }
  return 1;
}

/** Class of the char at i (code point, lone surrogates included). */
function classAt(text: string, i: number, to: number): number {
  const c = text.charCodeAt(i);
  if (c < 0x80) return classes[c] & 7;
  if (c >= 0xd800 && c <= 0xdbff && i + 1 < to) {
    const d = text.charCodeAt(i + 1);
    if (d >= 0xdc00 && d <= 0xdfff) return classOf(((c - 0xd800) << 10) + (d - 0xdc00) + 0x10000);
  }
  return classOf(c);
}

/** End of the run of chars of class cls starting at i. */
function runEnd(text: string, i: number, to: number, cls: number): number {
  while (i < to && classAt(text, i, to) === cls) i += charWidth(text, i, to);
  return i;
}

/** End of the GPT-2 pattern's match at i (i < to): the alternatives in the pattern's order. */
export function nextWordEnd(text: string, i: number, to: number): number {
  const c = text.charCodeAt(i);
  // 's 't 're 've 'm 'll 'd (lower case only, like the pattern).
  if (c === 0x27 && i + 1 < to) {
    const c1 = text.charCodeAt(i + 1);
    if (c1 === 0x73 || c1 === 0x74 || c1 === 0x6d || c1 === 0x64) return i + 2;
    if (i + 2 < to) {
      const c2 = text.charCodeAt(i + 2);
      if ((c1 === 0x72 && c2 === 0x65) || (c1 === 0x76 && c2 === 0x65) || (c1 === 0x6c && c2 === 0x6c)) return i + 3;
    }
  }
  // " ?\p{L}+", " ?\p{N}+", " ?[^\s\p{L}\p{N}]+": an optional space, then a run of one class.
  if (c === 0x20 && i + 1 < to) {
    const next = classAt(text, i + 1, to);
    if (next !== SPACE) return runEnd(text, i + 1, to, next);
  }
  const cls = classAt(text, i, to);
  if (cls !== SPACE) return runEnd(text, i, to, cls);
  // "\s+(?!\S)": whitespace not followed by a non-space (so, before a word, leave its last char
  // to it); else "\s+": a single whitespace char right before a word.
  // (Every White_Space char is one code unit.)
  const end = runEnd(text, i, to, SPACE);
  if (end === to) return end;
  return end - 1 > i ? end - 1 : end;
}
