/**
 * Late interaction (ColBERT's MaxSim): a query and a document are compared token by token — each
 * query token finds its most similar document token, and those best dot products are summed:
 *   score(q, d) = Σ_i max_j q_i · d_j
 * With L2-normalised token vectors (ColBERT's setting) each term is a cosine. Not symmetric.
 */
import { dot } from "./similarity.js";

export function maxSim(queryTokens: readonly ArrayLike<number>[], documentTokens: readonly ArrayLike<number>[]): number {
  if (documentTokens.length === 0) throw new Error("MaxSim needs at least one document token vector");
  let total = 0;
  for (const q of queryTokens) {
    let best = -Infinity;
    for (const d of documentTokens) best = Math.max(best, dot(q, d));
    total += best;
  }
  return total;
}
