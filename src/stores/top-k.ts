/**
 * Exact top-k scoring for the stores that search by scanning: cosine of a query against a block of
 * row-major float32 vectors, and a bounded min-heap that keeps the k best.
 */

/** Calls `emit(row, cosine)` for each of the first `rows` vectors of `block` (each `dim` wide). */
export function scoreBlock(query: Float32Array, block: Float32Array, rows: number, dim: number, emit: (row: number, score: number) => void): void {
  let qq = 0;
  for (let i = 0; i < dim; i++) qq += query[i] * query[i];
  const qNorm = Math.sqrt(qq);
  for (let r = 0; r < rows; r++) {
    const base = r * dim;
    // Four partial sums: independent chains the JIT can keep in registers.
    let d0 = 0, d1 = 0, d2 = 0, d3 = 0, n0 = 0, n1 = 0, n2 = 0, n3 = 0;
    let i = 0;
    for (; i + 3 < dim; i += 4) {
      const v0 = block[base + i], v1 = block[base + i + 1], v2 = block[base + i + 2], v3 = block[base + i + 3];
      d0 += query[i] * v0; d1 += query[i + 1] * v1; d2 += query[i + 2] * v2; d3 += query[i + 3] * v3;
      n0 += v0 * v0; n1 += v1 * v1; n2 += v2 * v2; n3 += v3 * v3;
    }
    for (; i < dim; i++) {
      const v = block[base + i];
      d0 += query[i] * v;
      n0 += v * v;
    }
    const denominator = qNorm * Math.sqrt(n0 + n1 + n2 + n3);
    emit(r, denominator > 0 ? (d0 + d1 + d2 + d3) / denominator : 0);
  }
}

/** The k highest-scoring items seen; ties keep the earlier item (stable, like a sort of the whole list). */
export class TopK<T> {
  private readonly scores: number[] = [];
  private readonly items: T[] = [];
  private readonly order: number[] = [];
  private seen = 0;

  constructor(private readonly k: number) {}

  offer(score: number, item: T): void {
    const n = this.seen++;
    if (this.k <= 0 || Number.isNaN(score)) return;
    if (this.scores.length < this.k) {
      this.scores.push(score);
      this.items.push(item);
      this.order.push(n);
      this.siftUp(this.scores.length - 1);
    } else if (score > this.scores[0]) {
      this.scores[0] = score;
      this.items[0] = item;
      this.order[0] = n;
      this.siftDown(0);
    }
  }

  /** Best first; equal scores in the order they were offered. */
  sorted(): { score: number; item: T }[] {
    return this.scores
      .map((score, i) => ({ score, item: this.items[i], n: this.order[i] }))
      .sort((a, b) => b.score - a.score || a.n - b.n)
      .map(({ score, item }) => ({ score, item }));
  }

  /** Heap order: lower score first; among equals the later offer is "lower" (evicted first). */
  private less(a: number, b: number): boolean {
    return this.scores[a] < this.scores[b] || (this.scores[a] === this.scores[b] && this.order[a] > this.order[b]);
  }

  private swap(a: number, b: number): void {
    [this.scores[a], this.scores[b]] = [this.scores[b], this.scores[a]];
    [this.items[a], this.items[b]] = [this.items[b], this.items[a]];
    [this.order[a], this.order[b]] = [this.order[b], this.order[a]];
  }

  private siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(i, parent)) break;
      this.swap(i, parent);
      i = parent;
    }
  }

  private siftDown(i: number): void {
    const n = this.scores.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.less(l, m)) m = l;
      if (r < n && this.less(r, m)) m = r;
      if (m === i) break;
      this.swap(i, m);
      i = m;
    }
  }
}
