/**
 * Second stage: splits normalized text into words, as [start, end) spans of that text. Spans (not
 * strings) keep the hot path free of allocations; the model slices the words it needs.
 *
 * A pre-tokenizer that rewrites words (byte-level BPE maps bytes to printable characters) will
 * fill `texts` with the rewritten words and map model offsets back itself; BERT's never does.
 */
export class WordSpans {
  starts: number[] = [];
  ends: number[] = [];
  count = 0;

  clear(): void {
    this.count = 0;
  }

  push(start: number, end: number): void {
    this.starts[this.count] = start;
    this.ends[this.count] = end;
    this.count++;
  }
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
