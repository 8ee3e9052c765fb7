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

  constructor(private readonly options: SentencePieceNormalizerOptions) {
    this.userDefined = new Set(options.userDefined);
    this.maxUserDefined = Math.max(0, ...options.userDefined.map((s) => s.length));
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
    let i = 0;
    if (removeExtraWhitespaces) {
      while (i < text.length) {
        const [s, n] = this.prefix(text, i);
        if (s !== " ") break;
        i += n;
      }
    }
    const units: string[] = [];
    const starts: number[] = [];
    const ends: number[] = [];
    if (i >= text.length) return { text: "", starts: new Int32Array(0), ends: new Int32Array(0) };
    // The dummy prefix spans the leading whitespace it stands for and the first character written
    // after it, as the "▁" of tokenizers' Replace/Metaspace does.
    const dummyFirst = addDummyPrefix && !treatWhitespaceAsSuffix;
    if (dummyFirst) units.push(space), starts.push(0), ends.push(i);
    let isPrevSpace = removeExtraWhitespaces;
    while (i < text.length) {
      const [s, n] = this.prefix(text, i);
      let k = 0;
      if (isPrevSpace) while (k < s.length && s[k] === " ") k++;
      // A dropped space widens the one kept before it (as tokenizers' Replace(" {2,}") spans the run).
      if (k > 0 && units.length > 0 && units[units.length - 1] === space) ends[ends.length - 1] = i + n;
      if (k < s.length) {
        if (dummyFirst && units.length === 1) ends[0] = i + n;
        for (; k < s.length; k++) {
          units.push(s[k] === " " ? space : s[k]);
          starts.push(i);
          ends.push(i + n);
        }
        isPrevSpace = s.endsWith(" ");
      }
      i += n;
      if (!removeExtraWhitespaces) isPrevSpace = false;
    }
    if (removeExtraWhitespaces) {
      while (units.length > 0 && units[units.length - 1] === space) units.pop(), starts.pop(), ends.pop();
    }
    if (addDummyPrefix && treatWhitespaceAsSuffix && units.length > 0) {
      const end = ends[ends.length - 1];
      units.push(space), starts.push(end), ends.push(end);
    }
    return { text: units.join(""), starts: Int32Array.from(starts), ends: Int32Array.from(ends) };
  }
}
