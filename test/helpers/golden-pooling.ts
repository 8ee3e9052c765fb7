/** The golden files' `pooled.*` keys and how bert-ts computes each (strategy + normalisation). */
import type { PoolingStrategy } from "../../src/pooling/strategies.js";

export const GOLDEN_POOLED: Record<string, { strategy: PoolingStrategy; normalize: boolean }> = {
  cls: { strategy: "cls", normalize: false },
  mean: { strategy: "mean", normalize: false },
  max: { strategy: "max", normalize: false },
  mean_sqrt_len: { strategy: "mean_sqrt_len", normalize: false },
  cls_mean_concat: { strategy: "cls_mean", normalize: false },
  mean_l2_normalized: { strategy: "mean", normalize: true },
  cls_l2_normalized: { strategy: "cls", normalize: true },
};
