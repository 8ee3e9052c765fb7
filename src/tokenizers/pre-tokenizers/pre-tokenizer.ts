/**
 * Second stage: splits normalized text into words, as [start, end) spans of that text. Spans (not
 * strings) keep the hot path free of allocations; the model slices the words it needs.
 *
 * A pre-tokenizer that rewrites words (byte-level BPE maps bytes to printable characters) pushes
 * the rewritten word with pushRewritten; the tokenizer feeds that to the model and maps the model's
 * offsets back through it. BERT's never does.
 */
export class WordSpans {
  starts: number[] = [];
  ends: number[] = [];
  /** rewritten[i]: the model's input for word i, or null (the span itself). Null until a rewrite. */
  rewritten: (RewrittenWord | null)[] | null = null;
  count = 0;

  clear(): void {
    this.count = 0;
  }

  push(start: number, end: number): void {
    this.starts[this.count] = start;
    this.ends[this.count] = end;
    if (this.rewritten !== null) this.rewritten[this.count] = null;
    this.count++;
  }

  pushRewritten(start: number, end: number, word: RewrittenWord): void {
    this.starts[this.count] = start;
    this.ends[this.count] = end;
    (this.rewritten ??= [])[this.count] = word;
    this.count++;
  }
}

/**
 * A word as the model must see it, e.g. " café" → "ĠcafÃ©" (one char per UTF-8 byte). starts[k],
 * ends[k]: the [start, end) within the word's span that code unit k came from (both null: one to
 * one). Relative to the span, so one rewrite serves every occurrence of the word.
 */
export interface RewrittenWord {
  text: string;
  starts: Int32Array | null;
  ends: Int32Array | null;
}

export interface PreTokenizer {
  /** Appends the words of text[from, to) to out. */
  preTokenize(text: string, from: number, to: number, out: WordSpans): void;
}

/** No pre-tokenizer in tokenizer.json: the whole text is one word. */
export class WholeTextPreTokenizer implements PreTokenizer {
  preTokenize(_text: string, from: number, to: number, out: WordSpans): void {
    if (to > from) out.push(from, to);
  }
}
