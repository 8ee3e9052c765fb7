import { AlignedStringBuilder, composeNfc, identityNormalized, type NormalizedString } from "../normalized-string.js";
import { charFlags, CJK, CONTROL, isPlainAscii, NONSPACING_MARK, WHITESPACE } from "../unicode.js";
import type { Normalizer } from "./normalizer.js";

export interface BertNormalizerOptions {
  /** Drop NUL, U+FFFD and every category-C character (Cc, Cf, Cs, Co, Cn); turn whitespace into spaces. */
  cleanText: boolean;
  /** Put spaces around CJK ideographs so each becomes a word. */
  handleChineseChars: boolean;
  lowercase: boolean;
  /** null: strip accents exactly when lower-casing (HF's rule for strip_accents=None). */
  stripAccents: boolean | null;
  /** The slow BertTokenizer composes the text (NFC) before splitting; the fast one does not. */
  composeNfc: boolean;
}

/**
 * HF's BERT normalization (BasicTokenizer._clean_text, _tokenize_chinese_chars, lower(),
 * _run_strip_accents), one code point at a time. Lower-casing is per character in both HF
 * implementations (the slow tokenizer lower-cases each character before anything else), so a
 * final capital sigma becomes σ, not ς.
 */
export class BertNormalizer implements Normalizer {
  readonly lowercases: boolean;
  private readonly strip: boolean;
  private readonly mapped = new Map<number, string>();

  constructor(private readonly options: BertNormalizerOptions) {
    this.lowercases = options.lowercase;
    this.strip = options.stripAccents ?? options.lowercase;
  }

  normalize(text: string): NormalizedString {
    if (isPlainAscii(text)) {
      // Nothing to remove, no CJK, no accents: same length, same positions. \t \n \r stay as they
      // are; the pre-tokenizer treats them as spaces.
      return identityNormalized(this.options.lowercase ? text.toLowerCase() : text);
    }
    const { cleanText, handleChineseChars } = this.options;
    const out = new AlignedStringBuilder(text.length + 8);
    for (let i = 0; i < text.length; ) {
      const cp = text.codePointAt(i) ?? 0;
      const width = cp > 0xffff ? 2 : 1;
      const end = i + width;
      const flags = charFlags(cp);
      if (cleanText && (cp === 0 || cp === 0xfffd || (flags & CONTROL) !== 0)) {
        // removed
      } else if (cleanText && (flags & WHITESPACE) !== 0) {
        out.push(" ", i, end);
      } else if (handleChineseChars && (flags & CJK) !== 0) {
        out.push(" ", i, end);
        out.push(text.slice(i, end), i, end);
        out.push(" ", i, end);
      } else if (cp < 128) {
        out.push(this.options.lowercase ? String.fromCharCode(cp).toLowerCase() : String.fromCharCode(cp), i, end);
      } else {
        const s = this.mapChar(cp, text.slice(i, end));
        if (s.length === width && width === 2) out.pushAligned(s, i);
        else out.push(s, i, end);
      }
      i = end;
    }
    const result = out.finish();
    // NFD + mark removal already canonicalises; composing matters only when accents are kept.
    return this.options.composeNfc && !this.strip ? composeNfc(result) : result;
  }

  /** Lower-case and/or strip one non-ASCII character; remembered per code point. */
  private mapChar(cp: number, ch: string): string {
    let s = this.mapped.get(cp);
    if (s !== undefined) return s;
    s = this.options.lowercase ? ch.toLowerCase() : ch;
    if (this.strip) {
      let kept = "";
      for (const c of s.normalize("NFD")) {
        if ((charFlags(c.codePointAt(0) ?? 0) & NONSPACING_MARK) === 0) kept += c;
      }
      s = kept;
    }
    this.mapped.set(cp, s);
    return s;
  }
}
