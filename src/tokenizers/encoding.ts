/**
 * What a tokenizer produces for one input (a text or a pair of texts), with Hugging Face's fields in
 * camelCase: input_ids → inputIds, token_type_ids → tokenTypeIds, and so on.
 */
export interface Encoding {
  /** Vocabulary ids, special tokens and padding included. */
  inputIds: number[];
  /** Segment ids: 0 for the first text (and its special tokens), 1 for the second. */
  tokenTypeIds: number[];
  /** 1 for real tokens, 0 for padding. */
  attentionMask: number[];
  /** 1 for special tokens added by the post-processor ([CLS], [SEP], padding), else 0. */
  specialTokensMask: number[];
  /** Token strings, e.g. "[CLS]", "hello", "##ing". */
  tokens: string[];
  /**
   * [start, end) character offsets into the original input string (JavaScript string indices,
   * i.e. UTF-16 code units: right for text.slice(); Python's offsets count code points, so they differ
   * after an emoji — codePointOffsets() converts) of the text the token came from; [0, 0] for
   * special and padding tokens.
   * For a pair, offsets of second-sequence tokens index into the second string.
   */
  offsets: [number, number][];
  /** Index of the pre-tokenized word each token belongs to, within its own sequence; null for special tokens. */
  wordIds: (number | null)[];
  /** 0 or 1 for tokens of the first or second text; null for special and padding tokens. */
  sequenceIds: (number | null)[];
  /** Windows that did not fit when truncating with overflow (return_overflowing_tokens). */
  overflowing: Encoding[];
  /**
   * How many tokens of the input(s) truncation left out of this encoding (0 when nothing was cut),
   * so truncation is never silent. Set by the tokenizer; optional for hand-built encodings.
   */
  numTruncatedTokens?: number;
}

/**
 * Encoding's ids, token types and masks, and what truncation cut, without the token strings,
 * offsets and word/sequence ids (Tokenizer.encodeIds: for loops that only run the model). Encoding
 * satisfies it.
 */
export interface IdsEncoding {
  inputIds: number[];
  tokenTypeIds: number[];
  attentionMask: number[];
  specialTokensMask: number[];
  numTruncatedTokens?: number;
}

/** The minimum the model needs from an encoded input. Encoding satisfies it. */
export interface ModelInput {
  inputIds: ArrayLike<number>;
  tokenTypeIds?: ArrayLike<number>;
  attentionMask?: ArrayLike<number>;
}
