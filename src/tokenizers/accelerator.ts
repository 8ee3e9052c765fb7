/**
 * An optional fast path for the word loop of Tokenizer.encodeIds, injected from outside (the native
 * addon's WordPieceTable, attached where the pipeline knows its backend): src/tokenizers never
 * imports a backend, and without an accelerator (browser, wasm, reference) nothing changes.
 */

/** BertPreTokenizer + WordPiece over already-normalized text. */
export interface WordPieceAccelerator {
  /**
   * The word-piece ids of normalized text (no special tokens, no truncation), or null for "not
   * mine": the JavaScript path then splits that text as before. The native one takes text whose
   * code units are all ASCII and returns null for anything else.
   */
  ids(normalized: string): ArrayLike<number> | null;
}

/** Everything that decides a WordPiece accelerator's output, handed to it once at load. */
export interface WordPieceTableSpec {
  /** The vocabulary's distinct tokens (TokenTable arrays: code units, token e = chars[starts[e]..starts[e+1]), its id). */
  chars: Uint16Array;
  starts: Uint32Array;
  ids: Int32Array;
  /** Per ASCII code unit: 0 word character, 1 whitespace, 2 punctuation (the pre-tokenizer's own table). */
  asciiClasses: Uint8Array;
  unkId: number;
  continuingSubwordPrefix: string;
  maxInputCharsPerWord: number;
  /** Whitespace-delimited chunks the pre-tokenizer keeps whole (the slow tokenizer's never_split and special tokens). */
  preTokenizerNeverSplit: string[];
  /** Words WordPiece never segments (absent from the vocabulary: unknown). */
  modelNeverSplit: string[];
}
