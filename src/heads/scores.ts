/**
 * Turning logits into scores, shared by the heads and pipelines. Computed in float64 from float32
 * logits (max-shifted, like PyTorch and numpy), so results agree with theirs to ~1e-7.
 */

/** softmax over one row of logits. */
export function softmax(logits: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < logits.length; i++) if (logits[i] > max) max = logits[i];
  const out = new Array<number>(logits.length);
  let sum = 0;
  for (let i = 0; i < logits.length; i++) {
    out[i] = Math.exp(logits[i] - max);
    sum += out[i];
  }
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

/** Element-wise logistic sigmoid. */
export function sigmoid(logits: ArrayLike<number>): number[] {
  return Array.from(logits, (x) => 1 / (1 + Math.exp(-x)));
}

/**
 * Indices of the k largest values, largest first; equal values keep index order (as torch.topk on
 * CPU does in practice). k = null or ≥ length gives every index, sorted.
 */
export function topK(values: ArrayLike<number>, k: number | null): number[] {
  const n = values.length;
  const want = k === null ? n : Math.max(0, Math.min(k, n));
  if (want === 0) return [];
  const better = (a: number, b: number): boolean => values[a] > values[b] || (values[a] === values[b] && a < b);
  if (want * 8 >= n) {
    return Array.from({ length: n }, (_, i) => i).sort((a, b) => (better(a, b) ? -1 : better(b, a) ? 1 : 0)).slice(0, want);
  }
  // Small k over a wide row (a 30522-token vocabulary): keep a sorted list of the best k seen.
  const best: number[] = [];
  for (let i = 0; i < n; i++) {
    if (best.length === want && !better(i, best[want - 1])) continue;
    let at = best.length === want ? want - 1 : best.length;
    if (best.length < want) best.push(i);
    while (at > 0 && better(i, best[at - 1])) {
      best[at] = best[at - 1];
      at--;
    }
    best[at] = i;
  }
  return best;
}
