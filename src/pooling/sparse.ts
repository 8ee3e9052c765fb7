/**
 * Sparse vectors (SPLADE and other lexical weights): vocabulary ids ascending with their values,
 * and the operations sentence-transformers' SparseEncoder offers on them.
 */

export interface SparseVector {
  /** Vocabulary ids, ascending, each once. */
  indices: Int32Array;
  /** The weight of each id, same order. */
  values: Float32Array;
  /** Size of the dense space (the vocabulary). */
  dimension: number;
}

/**
 * The non-zero entries of a dense vector; with topK (sentence-transformers' max_active_dims), only
 * the k largest values (ties keep the lower id), still in ascending id order.
 */
export function denseToSparse(dense: ArrayLike<number>, topK?: number): SparseVector {
  let ids: number[] = [];
  for (let i = 0; i < dense.length; i++) if (dense[i] !== 0) ids.push(i);
  if (topK !== undefined && ids.length > topK) {
    ids = ids
      .sort((a, b) => dense[b] - dense[a] || a - b)
      .slice(0, topK)
      .sort((a, b) => a - b);
  }
  return { indices: Int32Array.from(ids), values: Float32Array.from(ids, (i) => dense[i]), dimension: dense.length };
}

export function sparseToDense(v: SparseVector): Float32Array {
  const out = new Float32Array(v.dimension);
  v.indices.forEach((id, k) => (out[id] = v.values[k]));
  return out;
}

/** Dot product of two sparse vectors (merge of the sorted index lists; float64 sum). */
export function sparseDot(a: SparseVector, b: SparseVector): number {
  let s = 0;
  let i = 0;
  let j = 0;
  while (i < a.indices.length && j < b.indices.length) {
    const x = a.indices[i];
    const y = b.indices[j];
    if (x === y) s += a.values[i++] * b.values[j++];
    else if (x < y) i++;
    else j++;
  }
  return s;
}
