/**
 * Third stage: turns one pre-tokenized word into vocabulary pieces. WordPiece now; byte-level BPE
 * (RoBERTa) later implements the same interface.
 */
export interface WordPieces {
  /** Vocabulary ids of the pieces, in order. */
  readonly ids: readonly number[];
  /** End of each piece within the word (code units); a piece starts where the previous ends... */
  readonly ends: readonly number[];
  /** ...unless starts are given (byte-fallback pieces share their character's span). */
  readonly starts?: readonly number[];
}

export interface TokenizerModel {
  readonly vocabSize: number;
  tokenToId(token: string): number | undefined;
  idToToken(id: number): string | undefined;
  /** The pieces of one word. The result may be cached and shared: do not modify it. */
  tokenizeWord(word: string): WordPieces;
}
