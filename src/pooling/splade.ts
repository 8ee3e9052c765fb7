/**
 * SPLADE pooling (sentence-transformers v5 SpladePooling "max", activation relu): for each
 * vocabulary id, the maximum over a text's tokens (special tokens included) of log(1 + relu(logit))
 * of the masked-LM head. log1p is increasing, so the max is taken of relu(logit) — which the GEMM
 * applies — as the blocks of logits stream past, and log1p once per non-zero entry at the end.
 */
import { join } from "../io/host.js";
import type { LogitBlock } from "../heads/masked-lm.js";
import { denseToSparse, type SparseVector } from "./sparse.js";
import { pathInsideFolder } from "../io/model-files.js";
import { readJsonIfExists } from "./st-modules.js";

const MLM_TRANSFORMER = "sentence_transformers.sparse_encoder.models.MLMTransformer";
const SPLADE_POOLING = "sentence_transformers.sparse_encoder.models.SpladePooling";

/**
 * A sentence-transformers v5 SparseEncoder folder (modules.json: MLMTransformer, SpladePooling)
 * must ask for what this computes — max pooling of relu'd logits; anything else is refused by
 * name. A folder without modules.json is a bare masked-LM checkpoint, taken as is.
 */
export async function checkSpladeModules(dir: string): Promise<void> {
  const file = join(dir, "modules.json");
  const list = await readJsonIfExists(file);
  if (list === undefined) return;
  if (!Array.isArray(list)) throw new Error(`${file}: expected a list of modules`);
  for (const [i, m] of (list as { type?: unknown; path?: unknown }[]).entries()) {
    if (typeof m !== "object" || m === null || Array.isArray(m)) throw new Error(`${file}: [${i}] is not an object`);
    if (m.type === MLM_TRANSFORMER) continue;
    if (m.type !== SPLADE_POOLING) throw new Error(`${file}: module ${String(m.type)} is not supported in a SPLADE model (bert-ts runs MLMTransformer + SpladePooling)`);
    if (m.path !== undefined && typeof m.path !== "string") throw new Error(`${file}: [${i}].path is ${JSON.stringify(m.path)}; expected a folder name`);
    const configFile = join(pathInsideFolder(dir, m.path ?? "", file, `[${i}].path`), "config.json");
    const cfg = ((await readJsonIfExists(configFile)) ?? {}) as { pooling_strategy?: unknown; activation_function?: unknown };
    const strategy = cfg.pooling_strategy ?? "max";
    const activation = cfg.activation_function ?? "relu";
    if (strategy !== "max") throw new Error(`${configFile}: SpladePooling pooling_strategy ${JSON.stringify(strategy)} is not supported (only "max")`);
    if (activation !== "relu") throw new Error(`${configFile}: SpladePooling activation_function ${JSON.stringify(activation)} is not supported (only "relu")`);
  }
}

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
