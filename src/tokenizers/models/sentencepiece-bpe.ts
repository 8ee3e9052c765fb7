/**
 * SentencePiece's BPE model (bpe_model.cc) for `.model` files of model_type BPE: the text starts as
 * single characters (a user-defined symbol stays one unit); repeatedly the adjacent pair whose
 * concatenation is the piece with the highest score is merged (ties: the leftmost); then each
 * symbol is its piece's id, an UNUSED piece is split back into the two symbols it was merged from,
 * and a symbol that is no piece is unknown (consecutive unknowns fused; with byte fallback, the
 * `<0xXX>` pieces of its bytes).
 */
import type { TokenizerModel, WordPieces } from "./model.js";
import type { UnigramPiece } from "./unigram.js";

export interface SentencePieceBpeOptions {
  unkId: number;
  byteFallback: boolean;
}

interface Pair {
  left: number;
  right: number;
  score: number;
  /** Length of the merged text, to detect pairs made stale by other merges. */
  size: number;
}

const encoder = new TextEncoder();

export class SentencePieceBpe implements TokenizerModel {
  readonly vocabSize: number;
  private readonly ids = new Map<string, number>();
  /** NORMAL, USER_DEFINED and UNUSED pieces: the ones merges may produce. */
  private readonly mergeable = new Map<string, number>();
  private readonly userDefined: string[];
  private readonly byteIds: number[] | null = null;

  constructor(
    private readonly pieces: readonly UnigramPiece[],
    private readonly options: SentencePieceBpeOptions,
  ) {
    this.vocabSize = pieces.length;
    for (let id = 0; id < pieces.length; id++) {
      const p = pieces[id];
      if (!this.ids.has(p.piece)) this.ids.set(p.piece, id);
      if ((p.kind === "normal" || p.kind === "user" || p.kind === "unused") && !this.mergeable.has(p.piece)) this.mergeable.set(p.piece, id);
    }
    this.userDefined = pieces.filter((p) => p.kind === "user").map((p) => p.piece).sort((a, b) => b.length - a.length);
    if (options.byteFallback) {
      this.byteIds = [];
      for (let b = 0; b < 256; b++) {
        const name = `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`;
        const id = this.ids.get(name);
        if (id === undefined) throw new Error(`byte_fallback is set but the vocabulary has no ${name} piece`);
        this.byteIds.push(id);
      }
    }
  }

  tokenToId(token: string): number | undefined {
    return this.ids.get(token);
  }

  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 && id < this.pieces.length ? this.pieces[id].piece : undefined;
  }

  tokenizeWord(word: string): WordPieces {
    // Symbols: [start, end) of the word, linked left/right; a merged-away symbol is emptied.
    const starts: number[] = [];
    const ends: number[] = [];
    const frozen: boolean[] = [];
    for (let i = 0; i < word.length; ) {
      const user = this.userDefined.find((u) => word.startsWith(u, i));
      const width = user !== undefined ? user.length : (word.codePointAt(i) ?? 0) > 0xffff ? 2 : 1;
      starts.push(i);
      ends.push(i + width);
      frozen.push(user !== undefined);
      i += width;
    }
    const n = starts.length;
    const prev = Array.from({ length: n }, (_, k) => k - 1);
    const next = Array.from({ length: n }, (_, k) => (k + 1 < n ? k + 1 : -1));
    const heap: Pair[] = [];
    const rev = new Map<string, [string, string]>();
    const add = (left: number, right: number): void => {
      if (left < 0 || right < 0 || frozen[left] || frozen[right]) return;
      const text = word.slice(starts[left], ends[right]);
      const id = this.mergeable.get(text);
      if (id === undefined) return;
      heapPush(heap, { left, right, score: this.pieces[id].score, size: text.length });
      if (this.pieces[id].kind === "unused") rev.set(text, [word.slice(starts[left], ends[left]), word.slice(starts[right], ends[right])]);
    };
    for (let k = 1; k < n; k++) add(k - 1, k);
    while (heap.length > 0) {
      const top = heapPop(heap);
      const { left, right } = top;
      if (ends[left] === starts[left] || ends[right] === starts[right] || ends[right] - starts[left] !== top.size || next[left] !== right) continue;
      ends[left] = ends[right];
      ends[right] = starts[right];
      next[left] = next[right];
      if (next[right] >= 0) prev[next[right]] = left;
      add(prev[left], left);
      add(left, next[left]);
    }
    const ids: number[] = [];
    const outStarts: number[] = [];
    const outEnds: number[] = [];
    const emit = (text: string, s: number, e: number): void => {
      const id = this.mergeable.get(text);
      if (id !== undefined && this.pieces[id].kind !== "unused") {
        ids.push(id), outStarts.push(s), outEnds.push(e);
        return;
      }
      const split = id === undefined ? undefined : rev.get(text);
      if (split !== undefined) {
        emit(split[0], s, s + split[0].length);
        emit(split[1], s + split[0].length, e);
        return;
      }
      const unk = this.options.unkId;
      if (this.byteIds !== null) {
        for (const b of encoder.encode(text)) ids.push(this.byteIds[b]), outStarts.push(s), outEnds.push(e);
      } else if (ids.length > 0 && ids[ids.length - 1] === unk && outEnds[outEnds.length - 1] === s) outEnds[outEnds.length - 1] = e;
      else ids.push(unk), outStarts.push(s), outEnds.push(e);
    };
    for (let k = 0; k >= 0 && k < n; k = next[k]) emit(word.slice(starts[k], ends[k]), starts[k], ends[k]);
    return { ids, starts: outStarts, ends: outEnds };
  }
}

/** Max-heap on score; equal scores: the leftmost pair first. */
function before(a: Pair, b: Pair): boolean {
  return a.score > b.score || (a.score === b.score && a.left < b.left);
}

function heapPush(heap: Pair[], p: Pair): void {
  heap.push(p);
  for (let i = heap.length - 1; i > 0; ) {
    const parent = (i - 1) >> 1;
    if (!before(heap[i], heap[parent])) break;
    [heap[i], heap[parent]] = [heap[parent], heap[i]];
    i = parent;
  }
}

function heapPop(heap: Pair[]): Pair {
  const top = heap[0];
  const last = heap.pop() as Pair;
  if (heap.length > 0) {
    heap[0] = last;
    for (let i = 0; ; ) {
      const l = 2 * i + 1;
      const r = l + 1;
      let best = i;
      if (l < heap.length && before(heap[l], heap[best])) best = l;
      if (r < heap.length && before(heap[r], heap[best])) best = r;
      if (best === i) break;
      [heap[i], heap[best]] = [heap[best], heap[i]];
      i = best;
    }
  }
  return top;
}
