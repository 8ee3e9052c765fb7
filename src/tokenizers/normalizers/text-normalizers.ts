/**
 * The small normalizers of tokenizer.json that SentencePiece conversions use (tokenizers'
 * normalizers/{replace,strip,unicode,utils}.rs): Replace, Strip, NFC/NFD/NFKC/NFKD, Lowercase,
 * StripAccents, and Sequence. Each keeps the alignment to the original text.
 */
import { AlignedStringBuilder, composeAlignment, composeNfc, identityNormalized, sliceNormalized, type NormalizedString } from "../normalized-string.js";
import type { Normalizer } from "./normalizer.js";

/** Runs normalizers one after the other; offsets go back through all of them. */
export class SequenceNormalizer implements Normalizer {
  readonly lowercases: boolean;
  constructor(private readonly normalizers: readonly Normalizer[]) {
    this.lowercases = normalizers.some((n) => n.lowercases);
  }
  normalize(text: string): NormalizedString {
    let ns = identityNormalized(text);
    for (const n of this.normalizers) ns = composeAlignment(ns, n.normalize(ns.text));
    return ns;
  }
}

/** Replace: every match of a literal string or a regex becomes `content`, mapped to the match's span. */
export class ReplaceNormalizer implements Normalizer {
  readonly lowercases = false;
  private readonly pattern: RegExp;
  constructor(
    pattern: { String: string } | { Regex: string },
    private readonly content: string,
  ) {
    this.pattern = "Regex" in pattern ? new RegExp(pattern.Regex, "gu") : new RegExp(pattern.String.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"), "gu");
  }
  normalize(text: string): NormalizedString {
    if (text.search(this.pattern) < 0) return identityNormalized(text);
    const out = new AlignedStringBuilder(text.length);
    let pos = 0;
    for (const m of text.matchAll(this.pattern)) {
      const start = m.index ?? 0;
      const end = start + m[0].length;
      if (end === start) continue;
      out.pushAligned(text.slice(pos, start), pos);
      out.push(this.content, start, end);
      pos = end;
    }
    out.pushAligned(text.slice(pos), pos);
    return out.finish();
  }
}

const WHITE_SPACE = /\s/u;

/** Strip: removes leading and/or trailing whitespace (Rust's char::is_whitespace). */
export class StripNormalizer implements Normalizer {
  readonly lowercases = false;
  constructor(
    private readonly left: boolean,
    private readonly right: boolean,
  ) {}
  normalize(text: string): NormalizedString {
    let from = 0;
    let to = text.length;
    if (this.left) while (from < to && WHITE_SPACE.test(text[from])) from++;
    if (this.right) while (to > from && WHITE_SPACE.test(text[to - 1])) to--;
    if (from === 0 && to === text.length) return identityNormalized(text);
    return sliceNormalized(identityNormalized(text), from, to);
  }
}

/** NFC, NFD, NFKC or NFKD. */
export class UnicodeNormalizer implements Normalizer {
  readonly lowercases = false;
  constructor(private readonly form: "NFC" | "NFD" | "NFKC" | "NFKD") {}
  normalize(text: string): NormalizedString {
    return composeNfc(identityNormalized(text), this.form);
  }
}

/** Lowercase: per character, as Rust's char::to_lowercase (so Σ is always σ). */
export class LowercaseNormalizer implements Normalizer {
  readonly lowercases = true;
  normalize(text: string): NormalizedString {
    return lowercaseAligned(text);
  }
}

/** Lower-cased text, aligned; per character (no final-sigma rule), as Rust and the slow tokenizers' per-character lower(). */
export function lowercaseAligned(text: string): NormalizedString {
  const lower = text.toLowerCase();
  if (lower.length === text.length && !text.includes("\u03a3")) return identityNormalized(lower);
  const out = new AlignedStringBuilder(lower.length);
  for (let i = 0; i < text.length; ) {
    const width = (text.codePointAt(i) ?? 0) > 0xffff ? 2 : 1;
    out.push(text.slice(i, i + width).toLowerCase(), i, i + width);
    i += width;
  }
  return out.finish();
}

const MARK = /\p{M}/u;

/** StripAccents: removes combining marks (tokenizers' is_combining_mark: category M). */
export class StripAccentsNormalizer implements Normalizer {
  readonly lowercases = false;
  normalize(text: string): NormalizedString {
    return removeChars(text, (ch) => MARK.test(ch));
  }
}

/** text without the code points `drop` selects, aligned. */
export function removeChars(text: string, drop: (ch: string) => boolean): NormalizedString {
  let out: AlignedStringBuilder | null = null;
  let copied = 0;
  for (let i = 0; i < text.length; ) {
    const width = (text.codePointAt(i) ?? 0) > 0xffff ? 2 : 1;
    if (drop(text.slice(i, i + width))) {
      out ??= new AlignedStringBuilder(text.length);
      out.pushAligned(text.slice(copied, i), copied);
      copied = i + width;
    }
    i += width;
  }
  if (out === null) return identityNormalized(text);
  out.pushAligned(text.slice(copied), copied);
  return out.finish();
}
