/**
 * tokenizers' Metaspace pre-tokenizer: spaces become "▁", a "▁" is put before the text unless it
 * already starts with one (prepend_scheme "always"; "first": only at the start of a stretch of
 * text between added tokens — tokenizers says at the start of the input, which we cannot see here;
 * "never"), and with `split` the text is cut before every "▁" (each word keeps its "▁" in front).
 * Words are rewritten (space → ▁, prefix added); the prepended "▁" maps to the word's first
 * character, as tokenizers' NormalizedString::prepend aligns it.
 */
import type { PreTokenizer, RewrittenWord, WordSpans } from "./pre-tokenizer.js";

export type PrependScheme = "always" | "first" | "never";

export interface MetaspaceOptions {
  replacement: string;
  prependScheme: PrependScheme;
  split: boolean;
}

export class MetaspacePreTokenizer implements PreTokenizer {
  constructor(private readonly options: MetaspaceOptions) {}

  preTokenize(text: string, from: number, to: number, out: WordSpans): void {
    if (to <= from) return;
    const { replacement, prependScheme, split } = this.options;
    const first = text[from];
    const prepend = first !== " " && first !== replacement && (prependScheme === "always" || (prependScheme === "first" && from === 0));
    if (!split) {
      out.pushRewritten(from, to, rewrite(text, from, to, prepend, replacement));
      return;
    }
    let start = from;
    for (let i = from + 1; i <= to; i++) {
      if (i < to && text[i] !== " " && text[i] !== replacement) continue;
      out.pushRewritten(start, i, rewrite(text, start, i, prepend && start === from, replacement));
      start = i;
    }
  }
}

function rewrite(text: string, from: number, to: number, prepend: boolean, replacement: string): RewrittenWord {
  const word = text.slice(from, to).replaceAll(" ", replacement);
  if (!prepend) return { text: word, starts: null, ends: null };
  // The prepended "▁" (one code unit) maps to the word's first character (one or two code units).
  const n = word.length + 1;
  const starts = new Int32Array(n);
  const ends = new Int32Array(n);
  ends[0] = (word.codePointAt(0) ?? 0) > 0xffff ? 2 : 1;
  for (let k = 1; k < n; k++) {
    starts[k] = k - 1;
    ends[k] = k;
  }
  return { text: replacement + word, starts, ends };
}

const WHITESPACE = /\s/u;

/** WhitespaceSplit: words are the runs of non-whitespace (Rust's char::is_whitespace). */
export class WhitespaceSplitPreTokenizer implements PreTokenizer {
  preTokenize(text: string, from: number, to: number, out: WordSpans): void {
    let start = -1;
    for (let i = from; i < to; i++) {
      if (WHITESPACE.test(text[i])) {
        if (start >= 0) out.push(start, i);
        start = -1;
      } else if (start < 0) start = i;
    }
    if (start >= 0) out.push(start, to);
  }
}
