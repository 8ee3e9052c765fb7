/**
 * The slow AlbertTokenizer's preprocess_text (tokenization_albert.py), run before SentencePiece:
 * remove_space (strip, then runs of whitespace → one space, Python's str.split()), `` and '' → ",
 * keep_accents false → NFKD and drop every character with a non-zero canonical combining class
 * (unicodedata.combining), do_lower_case → lower case, one character at a time (transformers'
 * tokenize() lower-cases each character outside special tokens before this runs, so Σ is
 * always σ).
 */
import { AlignedStringBuilder, composeAlignment, composeNfc, identityNormalized, type NormalizedString } from "../normalized-string.js";
import { PYTHON_SPACE } from "../unicode.js";
import type { Normalizer } from "./normalizer.js";
import { lowercaseAligned, removeChars } from "./text-normalizers.js";


/** Canonical combining class 1 (overlays): the one class the reordering test below cannot see. */
const CCC_ONE = /[\u0334-\u0338\u1cd4\u1ce2-\u1ce8\u20d2\u20d3\u20d8-\u20da\u20e5\u20e6\u20ea\u20eb\u{10a39}\u{16af0}-\u{16af4}\u{1bc9e}\u{1d167}-\u{1d169}]/u;
const combiningCache = new Map<string, boolean>();

/**
 * unicodedata.combining(ch) != 0 for a decomposed character. Canonical ordering moves a character
 * of class > 1 behind U+0334 (class 1) and leaves a starter (class 0) where it is; class 1 is listed.
 */
export function hasCombiningClass(ch: string): boolean {
  let v = combiningCache.get(ch);
  if (v === undefined) {
    v = CCC_ONE.test(ch) || (ch + "\u0334").normalize("NFD") === "\u0334" + ch;
    combiningCache.set(ch, v);
  }
  return v;
}

export interface AlbertPreprocessOptions {
  removeSpace: boolean;
  keepAccents: boolean;
  lowercase: boolean;
}

export class AlbertPreprocess implements Normalizer {
  readonly lowercases: boolean;
  constructor(private readonly options: AlbertPreprocessOptions) {
    this.lowercases = options.lowercase;
  }

  normalize(text: string): NormalizedString {
    let ns = this.options.removeSpace ? collapseSpaces(text) : identityNormalized(text);
    ns = composeAlignment(ns, replaceQuotes(ns.text));
    if (!this.options.keepAccents) {
      ns = composeAlignment(ns, composeNfc(identityNormalized(ns.text), "NFKD"));
      ns = composeAlignment(ns, removeChars(ns.text, hasCombiningClass));
    }
    if (this.options.lowercase) ns = composeAlignment(ns, lowercaseAligned(ns.text));
    return ns;
  }
}

/** " ".join(text.strip().split()); each space kept maps to the first character of its run. */
function collapseSpaces(text: string): NormalizedString {
  const out = new AlignedStringBuilder(text.length);
  let written = 0;
  let pendingSpace = -1;
  for (let i = 0; i < text.length; i++) {
    if (PYTHON_SPACE.test(text[i])) {
      if (pendingSpace < 0) pendingSpace = i;
      continue;
    }
    if (pendingSpace >= 0 && written > 0) out.push(" ", pendingSpace, pendingSpace + 1);
    pendingSpace = -1;
    out.push(text[i], i, i + 1);
    written++;
  }
  return out.finish();
}

/** `` and '' → " (two passes in Python; they cannot interact, so one scan does both). */
function replaceQuotes(text: string): NormalizedString {
  if (!text.includes("``") && !text.includes("''")) return identityNormalized(text);
  const out = new AlignedStringBuilder(text.length);
  for (let i = 0; i < text.length; ) {
    if (text.startsWith("``", i) || text.startsWith("''", i)) {
      out.push('"', i, i + 2);
      i += 2;
    } else {
      out.push(text[i], i, i + 1);
      i++;
    }
  }
  return out.finish();
}
