/**
 * Semantic search: for each query vector, the top-k corpus vectors by a similarity function
 * (sentence-transformers util.semantic_search). Exact (brute force): every corpus vector is scored.
 */
import { similarity, type SimilarityFunction } from "../pooling/similarity.js";

export interface SearchHit {
  corpusId: number;
  score: number;
}

export interface SearchOptions {
  topK?: number;
  scoreFunction?: SimilarityFunction;
}

export function semanticSearch(
  queryVectors: readonly ArrayLike<number>[],
  corpusVectors: readonly ArrayLike<number>[],
  options: SearchOptions = {},
): SearchHit[][] {
  const topK = options.topK ?? 10;
  if (!Number.isInteger(topK) || topK < 1) throw new Error(`Expected a positive integer topK but received ${topK}`);
  const fn = options.scoreFunction ?? "cosine";
  return queryVectors.map((q) => {
    // A small sorted buffer: O(corpus · k) without sorting the whole corpus.
    const best: SearchHit[] = [];
    corpusVectors.forEach((c, corpusId) => {
      const score = similarity(q, c, fn);
      if (best.length === topK && score <= best[best.length - 1].score) return;
      let at = best.length;
      while (at > 0 && best[at - 1].score < score) at--;
      best.splice(at, 0, { corpusId, score });
      if (best.length > topK) best.pop();
    });
    return best;
  });
}
