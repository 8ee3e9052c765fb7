/** Vector comparisons and normalisation (float64 accumulation). */

function checkSameLength(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length) throw new Error(`Expected vectors of the same length but received ${a.length} and ${b.length}`);
}

export function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkSameLength(a, b);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
}

export function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

/** Cosine similarity; 0 when either vector is all zeros (instead of NaN). */
export function cosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkSameLength(a, b);
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  const denom = Math.sqrt(aa) * Math.sqrt(bb);
  return denom === 0 ? 0 : ab / denom;
}

export function euclideanDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkSameLength(a, b);
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    s += d * d;
  }
  return Math.sqrt(s);
}

/**
 * L2-normalises in place, like torch.nn.functional.normalize (divides by max(‖v‖, 1e-12)),
 * which is what sentence-transformers' Normalize module does.
 */
export function l2NormalizeInPlace(v: Float32Array): Float32Array {
  const n = Math.max(norm(v), 1e-12);
  for (let i = 0; i < v.length; i++) v[i] /= n;
  return v;
}

export type SimilarityFunction = "cosine" | "dot" | "euclidean";

export function similarity(a: ArrayLike<number>, b: ArrayLike<number>, fn: SimilarityFunction = "cosine"): number {
  switch (fn) {
    case "cosine":
      return cosineSimilarity(a, b);
    case "dot":
      return dot(a, b);
    case "euclidean":
      return -euclideanDistance(a, b); // higher is more similar, like sentence-transformers
  }
}
