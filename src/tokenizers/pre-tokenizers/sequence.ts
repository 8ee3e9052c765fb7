import { WordSpans, type PreTokenizer } from "./pre-tokenizer.js";

/** tokenizers' pre-tokenizer Sequence: each stage splits the words of the one before. */
export class SequencePreTokenizer implements PreTokenizer {
  private readonly scratch: WordSpans[];

  constructor(private readonly stages: readonly PreTokenizer[]) {
    this.scratch = stages.map(() => new WordSpans());
  }

  preTokenize(text: string, from: number, to: number, out: WordSpans): void {
    this.run(0, text, from, to, out);
  }

  private run(stage: number, text: string, from: number, to: number, out: WordSpans): void {
    if (stage === this.stages.length - 1) {
      this.stages[stage].preTokenize(text, from, to, out);
      return;
    }
    const spans = this.scratch[stage];
    spans.clear();
    this.stages[stage].preTokenize(text, from, to, spans);
    if (spans.rewritten !== null && spans.rewritten.slice(0, spans.count).some((w) => w !== null)) {
      throw new Error("A pre-tokenizer that rewrites words can only be the last of a Sequence");
    }
    const starts = spans.starts.slice(0, spans.count);
    const ends = spans.ends.slice(0, spans.count);
    for (let w = 0; w < starts.length; w++) this.run(stage + 1, text, starts[w], ends[w], out);
  }
}
