/**
 * The Unigram language model of SentencePiece (unigram_model.cc, EncodeOptimized) and of
 * tokenizers (models/unigram): the segmentation of a normalized text with the highest total piece
 * score, found by Viterbi over every vocabulary piece that starts at each character. A character
 * no piece of length one covers gets an unknown node scored min_score - 10; consecutive unknown
 * pieces are fused into one; with byte fallback an unknown piece becomes its UTF-8 bytes'
 * `<0xXX>` pieces.
 *
 * The two references differ in small ways, selected by `flavor`:
 * - "sentencepiece" (`.model` files): path scores kept in float32, min/max score over NORMAL
 *   pieces only, USER_DEFINED pieces scored `bytes * max_score - 0.1`, CONTROL/UNKNOWN/BYTE pieces
 *   never matched in text, UNUSED pieces skipped.
 * - "tokenizers" (`tokenizer.json`): float64 scores, every vocabulary entry can match, min score
 *   over all entries.
 */
import { utf8Length } from "../unicode.js";
import type { TokenizerModel, WordPieces } from "./model.js";

export type UnigramPieceKind = "normal" | "unknown" | "control" | "user" | "unused" | "byte";

export interface UnigramPiece {
  piece: string;
  score: number;
  kind: UnigramPieceKind;
}

export interface UnigramOptions {
  unkId: number;
  byteFallback: boolean;
  flavor: "sentencepiece" | "tokenizers";
}

const UNK_PENALTY = 10;
const FLT_MIN = 1.1754943508222875e-38;

/** Trie edges keyed node * 2^16 + code unit (one Map lookup per character walked). */
const EDGE = 0x10000;

export class Unigram implements TokenizerModel {
  readonly vocabSize: number;
  private readonly tokenToIdMap = new Map<string, number>();
  private readonly edges = new Map<number, number>();
  /** Piece id ending at each trie node, or -1; node 0 is the root. */
  private nodeIds: number[] = [-1];
  private readonly scores: Float64Array;
  private readonly unkScore: number;
  private readonly byteIds: Int32Array | null = null;
  private readonly float32: boolean;

  constructor(
    private readonly pieces: readonly UnigramPiece[],
    readonly options: UnigramOptions,
  ) {
    const { unkId, flavor } = options;
    if (!Number.isInteger(unkId) || unkId < 0 || unkId >= pieces.length) throw new Error(`Unigram unk_id ${unkId} is not a vocabulary id (${pieces.length} pieces)`);
    this.vocabSize = pieces.length;
    this.float32 = flavor === "sentencepiece";
    this.scores = new Float64Array(pieces.length);
    let minScore = Infinity;
    let maxScore = FLT_MIN;
    for (let id = 0; id < pieces.length; id++) {
      const p = pieces[id];
      // A later duplicate does not take the token → id direction from an earlier entry.
      if (!this.tokenToIdMap.has(p.piece)) this.tokenToIdMap.set(p.piece, id);
      if (flavor === "tokenizers" || p.kind === "normal") {
        if (p.score < minScore) minScore = p.score;
        if (p.score > maxScore) maxScore = p.score;
      }
    }
    if (minScore === Infinity) minScore = 0;
    for (let id = 0; id < pieces.length; id++) {
      const p = pieces[id];
      const matchable = flavor === "tokenizers" || p.kind === "normal" || p.kind === "user";
      if (!matchable) continue;
      this.scores[id] = flavor === "sentencepiece" && p.kind === "user" ? utf8Length(p.piece) * maxScore - 0.1 : p.score;
      this.insert(p.piece, id);
    }
    this.unkScore = minScore - UNK_PENALTY;
    if (options.byteFallback) {
      this.byteIds = new Int32Array(256);
      for (let b = 0; b < 256; b++) {
        const id = this.tokenToIdMap.get(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
        if (id === undefined) throw new Error(`byte_fallback is set but the vocabulary has no <0x${b.toString(16).toUpperCase().padStart(2, "0")}> piece`);
        this.byteIds[b] = id;
      }
    }
  }

  private insert(piece: string, id: number): void {
    let node = 0;
    for (let i = 0; i < piece.length; i++) {
      const key = node * EDGE + piece.charCodeAt(i);
      let child = this.edges.get(key);
      if (child === undefined) {
        child = this.nodeIds.length;
        this.nodeIds.push(-1);
        this.edges.set(key, child);
      }
      node = child;
    }
    // The first entry with this text wins (the trie keeps one id per key).
    if (this.nodeIds[node] === -1) this.nodeIds[node] = id;
  }

  tokenToId(token: string): number | undefined {
    return this.tokenToIdMap.get(token);
  }

  idToToken(id: number): string | undefined {
    return Number.isInteger(id) && id >= 0 && id < this.pieces.length ? this.pieces[id].piece : undefined;
  }

  tokenizeWord(word: string): WordPieces {
    const n = word.length;
    const ids: number[] = [];
    const starts: number[] = [];
    const ends: number[] = [];
    if (n === 0) return { ids, ends, starts };
    // best[end]: score of the best path ending at `end`, its last piece and where that starts.
    const bestScore = new Float64Array(n + 1);
    const bestStart = new Int32Array(n + 1).fill(-1);
    const bestId = new Int32Array(n + 1).fill(-1);
    const scores = this.scores;
    const f32 = this.float32;
    const edges = this.edges;
    const nodeIds = this.nodeIds;
    for (let start = 0; start < n; ) {
      const till = bestScore[start];
      const width = isHighSurrogatePair(word, start) ? 2 : 1;
      let hasSingle = false;
      let node = 0;
      for (let k = start; k < n; ) {
        const next = edges.get(node * EDGE + word.charCodeAt(k));
        if (next === undefined) break;
        node = next;
        k++;
        const id = nodeIds[node];
        if (id < 0) continue;
        const candidate = scores[id] + till;
        if (bestStart[k] === -1 || candidate > bestScore[k]) {
          bestScore[k] = f32 ? Math.fround(candidate) : candidate;
          bestStart[k] = start;
          bestId[k] = id;
        }
        if (k - start === width) hasSingle = true;
      }
      if (!hasSingle) {
        const k = start + width;
        const candidate = this.unkScore + till;
        if (bestStart[k] === -1 || candidate > bestScore[k]) {
          bestScore[k] = f32 ? Math.fround(candidate) : candidate;
          bestStart[k] = start;
          bestId[k] = this.options.unkId;
        }
      }
      start += width;
    }
    // Backtrack, fusing runs of unknown pieces.
    const unk = this.options.unkId;
    for (let end = n; end > 0; end = bestStart[end]) {
      const id = bestId[end];
      const start = bestStart[end];
      if (id === unk && ids.length > 0 && ids[ids.length - 1] === unk) starts[starts.length - 1] = start;
      else {
        ids.push(id);
        starts.push(start);
        ends.push(end);
      }
    }
    ids.reverse();
    starts.reverse();
    ends.reverse();
    if (this.byteIds === null || !ids.includes(unk)) return { ids, ends, starts };
    return this.byteFallback(word, ids, starts, ends);
  }

  /** Unknown pieces become the `<0xXX>` pieces of their UTF-8 bytes, each spanning the whole piece. */
  private byteFallback(word: string, ids: number[], starts: number[], ends: number[]): WordPieces {
    const byteIds = this.byteIds as Int32Array;
    const out: WordPieces & { ids: number[]; ends: number[]; starts: number[] } = { ids: [], ends: [], starts: [] };
    for (let k = 0; k < ids.length; k++) {
      if (ids[k] !== this.options.unkId) {
        out.ids.push(ids[k]), out.starts.push(starts[k]), out.ends.push(ends[k]);
        continue;
      }
      for (const b of encoder.encode(word.slice(starts[k], ends[k]))) out.ids.push(byteIds[b]), out.starts.push(starts[k]), out.ends.push(ends[k]);
    }
    return out;
  }
}

const encoder = new TextEncoder();

function isHighSurrogatePair(s: string, i: number): boolean {
  const c = s.charCodeAt(i);
  if (c < 0xd800 || c > 0xdbff || i + 1 >= s.length) return false;
  const d = s.charCodeAt(i + 1);
  return d >= 0xdc00 && d <= 0xdfff;
}
