/** The tokens of one input text, before special tokens are added. */
export interface TokenSequence {
  ids: number[];
  /** Original-text [start, end) of each token, flattened: offsets[2k], offsets[2k + 1]. */
  offsets: number[];
  /** Index of the pre-tokenized word each token belongs to. */
  wordIds: number[];
}

/** One piece of the final sequence: either a special token or a whole input sequence. */
export type TemplatePiece =
  | { kind: "special"; ids: number[]; typeId: number }
  | { kind: "sequence"; sequence: 0 | 1; typeId: number };

/**
 * Fourth stage: where the special tokens go ([CLS] A [SEP] B [SEP] for BERT; <s> A </s></s> B </s>
 * for RoBERTa) and which segment (token type) each part gets.
 */
export interface PostProcessor {
  /** The template for one sequence or a pair; the generic encoder walks it. */
  template(isPair: boolean): readonly TemplatePiece[];
  /**
   * Adjusts a token's [start, end) in place, after truncation (byte-level BPE trims the spaces a
   * token carries). `first`: the first token of its sequence (or overflow window).
   */
  processOffsets?(token: string, offsets: [number, number], first: boolean): void;
}

/** How many special tokens the template adds. */
export function numSpecialTokens(processor: PostProcessor, isPair: boolean): number {
  let n = 0;
  for (const piece of processor.template(isPair)) if (piece.kind === "special") n += piece.ids.length;
  return n;
}
