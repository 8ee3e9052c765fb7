/**
 * SPLADE pooling (sentence-transformers v5 SpladePooling "max", activation relu): for each
 * vocabulary id, the maximum over a text's tokens (special tokens included) of log(1 + relu(logit))
 * of the masked-LM head. log1p is increasing, so the max is taken of relu(logit) — which the GEMM
 * applies — as the blocks of logits stream past, and log1p once per non-zero entry at the end.
 */
import type { LogitBlock } from "../heads/masked-lm.js";
import { denseToSparse, type SparseVector } from "./sparse.js";

export class SpladeAccumulator {
  /** Per sequence: max relu(logit) per vocabulary id so far. */
  private readonly maxima: Float32Array[];
  /** Sequence of each packed row. */
  private readonly sequenceOfRow: Int32Array;

  constructor(
    seqStarts: Int32Array,
    private readonly vocabSize: number,
  ) {
    const n = seqStarts.length - 1;
    this.maxima = Array.from({ length: n }, () => new Float32Array(vocabSize));
    this.sequenceOfRow = new Int32Array(seqStarts[n]);
    for (let s = 0; s < n; s++) this.sequenceOfRow.fill(s, seqStarts[s], seqStarts[s + 1]);
  }

  /** Folds one block of relu'd logits in. */
  add(block: LogitBlock): void {
    const { data, width, vocabStart } = block;
    for (let r = 0; r < block.rows; r++) {
      const acc = this.maxima[this.sequenceOfRow[block.rowStart + r]];
      // Most relu'd logits are 0 (about 2% are positive in a SPLADE model): the branch rarely runs.
      for (let c = 0, k = r * width; c < width; c++, k++) {
        const v = data[k];
        if (v > acc[vocabStart + c]) acc[vocabStart + c] = v;
      }
    }
  }

  /** Each sequence's SPLADE vector; topK keeps its largest entries (max_active_dims). */
  vectors(topK?: number): SparseVector[] {
    return this.maxima.map((m) => {
      for (let i = 0; i < this.vocabSize; i++) if (m[i] > 0) m[i] = Math.log1p(m[i]);
      return denseToSparse(m, topK);
    });
  }
}
