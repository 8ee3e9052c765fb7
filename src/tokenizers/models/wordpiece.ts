import { codePointLength } from "../unicode.js";
import type { TokenizerModel, WordPieces } from "./model.js";
import type { TokenTable } from "./token-table.js";
import type { Vocab } from "./vocab.js";

export interface WordPieceOptions {
  unkToken: string;
  continuingSubwordPrefix: string;
  /** Longer words (in code points, like Python's len) become the unknown token. */
  maxInputCharsPerWord: number;
  /**
   * The slow tokenizer's never_split words: looked up whole, never segmented (absent → unknown).
   * The pre-tokenizer keeps them in one piece.
   */
  neverSplit?: ReadonlySet<string>;
}

/** Words seen are remembered up to this many; then the cache starts over (bounded memory). */
const CACHE_LIMIT = 200_000;

/**
 * Greedy longest-match-first WordPiece (transformers' WordpieceTokenizer): the longest vocabulary
 * entry that starts the word, then the longest "##" entry that continues it, and so on; a word
 * with no complete segmentation is a single unknown token.
 */
export class WordPiece implements TokenizerModel {
  readonly vocabSize: number;
  readonly unkId: number;
  private readonly cache = new Map<string, WordPieces>();

  constructor(
    private readonly vocab: Vocab,
    readonly options: WordPieceOptions,
  ) {
    this.vocabSize = vocab.tokenToId.size;
    const unk = vocab.tokenToId.get(options.unkToken);
    if (unk === undefined) throw new Error(`Unknown token ${JSON.stringify(options.unkToken)} is not in the vocabulary`);
    this.unkId = unk;
  }

  /** The vocabulary's lookup arrays (a native WordPiece copies them once). */
  get tokenTable(): TokenTable {
    return this.vocab.tokenToId;
  }

  tokenToId(token: string): number | undefined {
    return this.vocab.tokenToId.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.vocab.tokenToId.tokenOf(id);
  }

  tokenizeWord(word: string): WordPieces {
    let pieces = this.cache.get(word);
    if (pieces === undefined) {
      pieces = this.segment(word);
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(word, pieces);
    }
    return pieces;
  }

  private segment(word: string): WordPieces {
    const n = word.length;
    const unknown: WordPieces = { ids: [this.unkId], ends: [n] };
    if (n > this.options.maxInputCharsPerWord && codePointLength(word) > this.options.maxInputCharsPerWord) return unknown;
    const whole = this.vocab.tokenToId.get(word);
    if (whole !== undefined) return { ids: [whole], ends: [n] };
    if (this.options.neverSplit?.has(word)) return unknown;
    // Pieces are looked up by range (a continuation as prefix + range): no substring is made.
    const table = this.vocab.tokenToId;
    const prefix = this.options.continuingSubwordPrefix;
    const maxPieceLength = Math.max(1, table.maxTokenLength);
    const ids: number[] = [];
    const ends: number[] = [];
    let start = 0;
    while (start < n) {
      let end = Math.min(n, start + maxPieceLength);
      let found = -1;
      // Code-unit ends are safe: a piece ending inside a surrogate pair is never in the vocabulary.
      while (end > start) {
        const id = table.getRange(word, start, end, start === 0 ? "" : prefix);
        if (id !== undefined) {
          found = id;
          break;
        }
        end--;
      }
      if (found < 0) return unknown;
      ids.push(found);
      ends.push(end);
      start = end;
    }
    return { ids, ends };
  }
}
