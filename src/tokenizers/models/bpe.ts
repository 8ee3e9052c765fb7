/**
 * Byte-pair encoding (GPT-2, RoBERTa): a word starts as its characters and the adjacent pair with
 * the lowest merge rank is merged, again and again, until no pair has a rank. Ties go to the
 * leftmost pair, which is what both Hugging Face implementations do (the slow tokenizer merges all
 * occurrences of the best pair left to right; tokenizers pops (rank, position) from a heap).
 *
 * Symbols are numbers: the vocabulary's ids, plus extra ids for merge results or characters that
 * the vocabulary lacks (the slow tokenizer allows those; they become the unknown token at the end).
 * Short words are merged by scanning all pairs at each step; long ones (a page of Chinese is one
 * word) with a heap, so a megabyte-long word costs O(n log n), not O(n²).
 */
import type { TokenizerModel, WordPieces } from "./model.js";
import type { Vocab } from "./vocab.js";

export interface BpeOptions {
  /** Token for characters (or merge results) outside the vocabulary; null: they are dropped, as in tokenizers. */
  unkToken: string | null;
  /** Merge consecutive unknown tokens into one. */
  fuseUnk: boolean;
  /** Look the whole word up in the vocabulary before merging (tokenizers' ignore_merges). */
  ignoreMerges: boolean;
}

/** Words remembered before the cache starts over (bounded memory); longer words are not cached. */
const CACHE_LIMIT = 100_000;
const CACHE_MAX_WORD = 256;
/** Up to this many symbols, scanning every pair per merge beats keeping a heap. */
const SCAN_LIMIT = 48;

export class Bpe implements TokenizerModel {
  readonly vocabSize: number;
  readonly unkId: number | undefined;
  /** String → symbol: the vocabulary's ids, then extra symbols. */
  private readonly symbols: Map<string, number>;
  /** Symbols at or above this are not in the vocabulary. */
  private readonly firstExtra: number;
  /** Stands for a character with no symbol; merges with nothing. */
  private readonly unknownSymbol: number;
  /** Number of symbols, the multiplier of pair keys (left * stride + right). */
  private readonly stride: number;
  /** Pair key → merge rank (later duplicates win, as in both Python's dict and tokenizers). */
  private readonly ranks = new Map<number, number>();
  /** rank → the merged symbol. */
  private readonly merged: Int32Array;
  private readonly cache = new Map<string, WordPieces>();

  constructor(
    private readonly vocab: Vocab,
    merges: readonly (readonly [string, string])[],
    readonly options: BpeOptions,
  ) {
    this.vocabSize = vocab.tokenToId.size;
    if (options.unkToken !== null) {
      this.unkId = vocab.tokenToId.get(options.unkToken);
      if (this.unkId === undefined) throw new Error(`Unknown token ${JSON.stringify(options.unkToken)} is not in the vocabulary`);
    }
    this.symbols = new Map(vocab.tokenToId);
    let next = vocab.tokenToId.idCount;
    this.firstExtra = next;
    const symbolOf = (s: string): number => {
      let id = this.symbols.get(s);
      if (id === undefined) {
        id = next++;
        this.symbols.set(s, id);
      }
      return id;
    };
    const pairs: number[] = [];
    for (const [a, b] of merges) pairs.push(symbolOf(a), symbolOf(b), symbolOf(a + b));
    this.unknownSymbol = next++;
    this.stride = next;
    // Pair keys and heap keys are exact doubles only within these bounds.
    if (this.stride > 2 ** 26) throw new Error(`BPE vocabulary too large (${this.stride} symbols)`);
    if (merges.length > 2 ** 21) throw new Error(`Too many BPE merges (${merges.length})`);
    this.merged = new Int32Array(merges.length);
    for (let r = 0; r < merges.length; r++) {
      this.ranks.set(pairs[3 * r] * this.stride + pairs[3 * r + 1], r);
      this.merged[r] = pairs[3 * r + 2];
    }
  }

  tokenToId(token: string): number | undefined {
    return this.vocab.tokenToId.get(token);
  }

  idToToken(id: number): string | undefined {
    return this.vocab.tokenToId.tokenOf(id);
  }

  tokenizeWord(word: string): WordPieces {
    if (word.length > CACHE_MAX_WORD) return this.encode(word);
    let pieces = this.cache.get(word);
    if (pieces === undefined) {
      pieces = this.encode(word);
      if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
      this.cache.set(word, pieces);
    }
    return pieces;
  }

  private encode(word: string): WordPieces {
    const n = word.length;
    if (n === 0) return { ids: [], ends: [] };
    if (this.options.ignoreMerges) {
      const whole = this.vocab.tokenToId.get(word);
      if (whole !== undefined) return { ids: [whole], ends: [n] };
    }
    // Initial symbols: one per code point; ends in code units of the word.
    const syms = new Int32Array(n);
    const ends = new Int32Array(n);
    let count = 0;
    for (let i = 0; i < n; ) {
      const c = word.charCodeAt(i);
      const width = c >= 0xd800 && c <= 0xdbff && i + 1 < n && (word.charCodeAt(i + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
      syms[count] = this.symbols.get(width === 1 ? word[i] : word.slice(i, i + 2)) ?? this.unknownSymbol;
      i += width;
      ends[count++] = i;
    }
    if (count > 1) count = count <= SCAN_LIMIT ? this.mergeByScan(syms, ends, count) : this.mergeByHeap(syms, ends, count);
    return this.finish(syms, ends, count);
  }

  /** Rank of the pair (a, b), or -1. */
  private rank(a: number, b: number): number {
    return this.ranks.get(a * this.stride + b) ?? -1;
  }

  /** Repeatedly merges the best pair (lowest rank, then leftmost) in place; returns the new count. */
  private mergeByScan(syms: Int32Array, ends: Int32Array, count: number): number {
    for (;;) {
      let best = -1;
      let bestRank = Infinity;
      for (let i = 0; i + 1 < count; i++) {
        const r = this.rank(syms[i], syms[i + 1]);
        if (r >= 0 && r < bestRank) {
          bestRank = r;
          best = i;
        }
      }
      if (best < 0) return count;
      syms[best] = this.merged[bestRank];
      ends[best] = ends[best + 1];
      syms.copyWithin(best + 1, best + 2, count);
      ends.copyWithin(best + 1, best + 2, count);
      if (--count === 1) return 1;
    }
  }

  /**
   * The same order of merges with a heap of (rank, position) over a linked list of symbols. Stale
   * entries (a side already merged away) are skipped when popped: the pair is re-ranked and must
   * still have the popped rank (each rank belongs to one pair).
   */
  private mergeByHeap(syms: Int32Array, ends: Int32Array, count: number): number {
    const next = new Int32Array(count);
    const prev = new Int32Array(count);
    const gone = new Uint8Array(count);
    for (let i = 0; i < count; i++) {
      next[i] = i + 1 < count ? i + 1 : -1;
      prev[i] = i - 1;
    }
    // Keys rank * 2^32 + position: smallest rank first, then leftmost. Ranks stay below 2^21.
    let heap = new Float64Array(Math.max(16, count));
    let size = 0;
    const push = (key: number): void => {
      if (size === heap.length) {
        const grown = new Float64Array(heap.length * 2);
        grown.set(heap);
        heap = grown;
      }
      let k = size++;
      while (k > 0) {
        const parent = (k - 1) >> 1;
        if (heap[parent] <= key) break;
        heap[k] = heap[parent];
        k = parent;
      }
      heap[k] = key;
    };
    const pop = (): number => {
      const top = heap[0];
      const last = heap[--size];
      let k = 0;
      for (;;) {
        let child = 2 * k + 1;
        if (child >= size) break;
        if (child + 1 < size && heap[child + 1] < heap[child]) child++;
        if (heap[child] >= last) break;
        heap[k] = heap[child];
        k = child;
      }
      heap[k] = last;
      return top;
    };
    const SHIFT = 4294967296;
    const pushPair = (left: number): void => {
      const right = next[left];
      if (left < 0 || right < 0) return;
      const r = this.rank(syms[left], syms[right]);
      if (r >= 0) push(r * SHIFT + left);
    };
    for (let i = 0; i + 1 < count; i++) pushPair(i);
    while (size > 0) {
      const key = pop();
      const r = Math.floor(key / SHIFT);
      const left = key - r * SHIFT;
      const right = next[left];
      if (gone[left] || right < 0 || this.rank(syms[left], syms[right]) !== r) continue;
      syms[left] = this.merged[r];
      ends[left] = ends[right];
      gone[right] = 1;
      next[left] = next[right];
      if (next[right] >= 0) prev[next[right]] = left;
      pushPair(prev[left]);
      pushPair(left);
    }
    let n = 0;
    for (let i = 0; i >= 0; i = next[i]) {
      syms[n] = syms[i];
      ends[n++] = ends[i];
    }
    return n;
  }

  /** Symbols → vocabulary ids; symbols outside the vocabulary become the unknown token (or go). */
  private finish(syms: Int32Array, ends: Int32Array, count: number): WordPieces {
    const ids: number[] = [];
    const pieceEnds: number[] = [];
    let lastWasUnk = false;
    for (let k = 0; k < count; k++) {
      const s = syms[k];
      if (s < this.firstExtra && this.vocab.tokenToId.hasId(s)) {
        ids.push(s);
        pieceEnds.push(ends[k]);
        lastWasUnk = false;
      } else if (this.unkId !== undefined) {
        if (lastWasUnk && this.options.fuseUnk) pieceEnds[pieceEnds.length - 1] = ends[k];
        else {
          ids.push(this.unkId);
          pieceEnds.push(ends[k]);
        }
        lastWasUnk = true;
      } else if (pieceEnds.length > 0) {
        // Dropped: the previous piece's span covers it, so offsets stay contiguous.
        pieceEnds[pieceEnds.length - 1] = ends[k];
      }
    }
    return { ids, ends: pieceEnds };
  }
}

/**
 * Reads merges.txt: one "a b" pair a line, rank = order; a first line starting with "#version" is
 * a header (the slow tokenizer skips the first line unconditionally, tokenizers only that header).
 */
export function parseMerges(text: string, source = "merges.txt"): [string, string][] {
  const lines = text.split(/\r?\n/);
  const merges: [string, string][] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (i === 0 && line.startsWith("#version")) continue;
    if (line.length === 0) continue;
    merges.push(splitMerge(line, `${source} line ${i + 1}`));
  }
  return merges;
}

/** One merge: "a b" or ["a", "b"] (tokenizer.json has used both). */
export function splitMerge(merge: unknown, where: string): [string, string] {
  if (typeof merge === "string") {
    const parts = merge.split(" ");
    if (parts.length === 2 && parts[0].length > 0 && parts[1].length > 0) return [parts[0], parts[1]];
  } else if (Array.isArray(merge) && merge.length === 2 && typeof merge[0] === "string" && typeof merge[1] === "string") {
    return [merge[0], merge[1]];
  }
  throw new Error(`${where}: expected a merge "a b" or ["a", "b"] but found ${JSON.stringify(merge)}`);
}
