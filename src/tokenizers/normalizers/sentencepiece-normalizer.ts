/**
 * sentencepiece's Normalizer (normalizer.cc), for models read from a `.model` file: at each
 * position a user-defined symbol is kept as it is, else the longest charsmap rule applies, else the
 * character is copied; then the whitespace rules of the model's normalizer spec — leading, trailing
 * and repeated spaces dropped (remove_extra_whitespaces), a space put first (add_dummy_prefix;
 * last with treat_whitespace_as_suffix), spaces written as "▁" (escape_whitespaces).
 *
 * Alignment: what a rule writes maps to the span of original text it consumed; the dummy "▁" maps
 * to the leading whitespace removed and the first character after it, as the "▁" that tokenizers'
 * Replace and Metaspace write there does.
 */
import type { NormalizedString } from "../normalized-string.js";
import type { CharsMap } from "./precompiled.js";
import type { Normalizer } from "./normalizer.js";

export const SPACE_SYMBOL = "\u2581";

export interface SentencePieceNormalizerOptions {
  charsMap: CharsMap | null;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  escapeWhitespaces: boolean;
  treatWhitespaceAsSuffix: boolean;
  /** USER_DEFINED pieces: matched in the raw text, longest first, never normalized. */
  userDefined: readonly string[];
}

export class SentencePieceNormalizer implements Normalizer {
  readonly lowercases = false;
  private readonly userDefined: Set<string>;
  private readonly maxUserDefined: number;
  /** ASCII characters that are copied as they are: no rule, no user-defined symbol starts with them, not a space. */
  private readonly plain = new Uint8Array(128);

  constructor(private readonly options: SentencePieceNormalizerOptions) {
    this.userDefined = new Set(options.userDefined);
    this.maxUserDefined = Math.max(0, ...options.userDefined.map((s) => s.length));
    const userFirst = new Set(options.userDefined.map((s) => s.charCodeAt(0)));
    for (let c = 0; c < 128; c++) {
      const ruleFree = options.charsMap === null || options.charsMap.hasNoRule(c);
      this.plain[c] = ruleFree && c !== 32 && !userFirst.has(c) ? 1 : 0;
    }
  }

  /** normalizer.cc's NormalizePrefix: [what to write, code units consumed]. */
  private prefix(text: string, i: number): [string, number] {
    for (let len = Math.min(this.maxUserDefined, text.length - i); len > 0; len--) {
      const candidate = text.slice(i, i + len);
      if (this.userDefined.has(candidate)) return [candidate, len];
    }
    const rule = this.options.charsMap?.longestMatch(text, i) ?? null;
    if (rule !== null) return [rule.replacement, rule.length];
    const width = (text.codePointAt(i) ?? 0) > 0xffff ? 2 : 1;
    return [text.slice(i, i + width), width];
  }

  normalize(text: string): NormalizedString {
    const { addDummyPrefix, removeExtraWhitespaces, escapeWhitespaces, treatWhitespaceAsSuffix } = this.options;
    const space = escapeWhitespaces ? SPACE_SYMBOL : " ";
    const n = text.length;
    let i = 0;
    if (removeExtraWhitespaces) {
      while (i < n) {
        const [s, w] = this.prefix(text, i);
        if (s !== " ") break;
        i += w;
      }
    }
    if (i >= n) return { text: "", starts: new Int32Array(0), ends: new Int32Array(0) };
    let cap = n + (n >> 1) + 8;
    let starts = new Int32Array(cap);
    let ends = new Int32Array(cap);
    let count = 0;
    const chunks: string[] = [];
    const reserve = (k: number): void => {
      if (count + k <= cap) return;
      while (cap < count + k) cap *= 2;
      const s2 = new Int32Array(cap);
      s2.set(starts.subarray(0, count));
      const e2 = new Int32Array(cap);
      e2.set(ends.subarray(0, count));
      starts = s2;
      ends = e2;
    };
    // The dummy prefix spans the leading whitespace it stands for and the first character written
    // after it, as the "▁" that tokenizers' Replace and Metaspace write there does.
    const dummyFirst = addDummyPrefix && !treatWhitespaceAsSuffix;
    if (dummyFirst) {
      chunks.push(space);
      ends[0] = i;
      count = 1;
    }
    let isPrevSpace = removeExtraWhitespaces;
    let lastIsSpace = false;
    /** Output length up to the last character that is not a space (trailing spaces are dropped). */
    let keep = 0;
    const plain = this.plain;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c < 128 && plain[c] === 1) {
        // A run of plain ASCII is copied as it is, one to one.
        let j = i + 1;
        while (j < n) {
          const d = text.charCodeAt(j);
          if (d >= 128 || plain[d] !== 1) break;
          j++;
        }
        if (dummyFirst && count === 1) ends[0] = i + 1;
        reserve(j - i);
        for (let k = i; k < j; k++, count++) (starts[count] = k), (ends[count] = k + 1);
        chunks.push(text.slice(i, j));
        keep = count;
        isPrevSpace = false;
        lastIsSpace = false;
        i = j;
        continue;
      }
      const [s, w] = this.prefix(text, i);
      let k = 0;
      if (isPrevSpace) while (k < s.length && s[k] === " ") k++;
      // A dropped space widens the one kept before it (as tokenizers' Replace(" {2,}") spans the run).
      if (k > 0 && lastIsSpace) ends[count - 1] = i + w;
      if (k < s.length) {
        if (dummyFirst && count === 1) ends[0] = i + w;
        reserve(s.length - k);
        for (; k < s.length; k++, count++) {
          const isSpace = s[k] === " ";
          const unit = isSpace ? space : s[k];
          chunks.push(unit);
          starts[count] = i;
          ends[count] = i + w;
          lastIsSpace = isSpace;
          // Trailing removal drops every final space symbol, a "▁" of the input included.
          if (unit !== space) keep = count + 1;
        }
        isPrevSpace = s.endsWith(" ");
      }
      i += w;
      if (!removeExtraWhitespaces) isPrevSpace = false;
    }
    if (!removeExtraWhitespaces) keep = count;
    let out = chunks.join("");
    if (keep < count) out = out.slice(0, keep);
    if (addDummyPrefix && treatWhitespaceAsSuffix && keep > 0) {
      reserve(1);
      out += space;
      starts[keep] = ends[keep] = ends[keep - 1];
      keep++;
    }
    return { text: out, starts: starts.slice(0, keep), ends: ends.slice(0, keep) };
  }
}
