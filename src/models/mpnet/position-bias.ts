/**
 * MPNet's relative attention bias (modeling_mpnet.py MPNetEncoder.compute_position_bias): one learned
 * value per (bucket, head), the bucket a function of the distance j - i between key and query,
 * computed once and shared by every layer.
 */
import type { PositionBias } from "../../backend/backend.js";
import type { BertConfig } from "../../config/bert-config.js";
import type { Checkpoint } from "../checkpoint.js";

/** relative_position_bucket's max_distance: distances from here on share the last bucket of each side. */
const BUCKET_MAX_DISTANCE = 128;

/**
 * modeling_mpnet.py relative_position_bucket for one relative position (j - i): half the buckets for
 * each sign; below a quarter of them, one bucket per distance; beyond, logarithmic up to max_distance.
 * The logarithm runs in float32 as PyTorch does it, so the bucket edges fall where PyTorch puts them.
 */
export function relativePositionBucket(relativePosition: number, numBuckets: number, maxDistance = BUCKET_MAX_DISTANCE): number {
  const f = Math.fround;
  const half = Math.floor(numBuckets / 2);
  const n = -relativePosition;
  let bucket = n < 0 ? half : 0;
  const distance = Math.abs(n);
  const maxExact = Math.floor(half / 2);
  if (distance < maxExact) return bucket + distance;
  const ratio = f(f(Math.log(f(distance / maxExact))) / f(Math.log(maxDistance / maxExact)));
  const large = maxExact + Math.trunc(f(ratio * (half - maxExact)));
  bucket += Math.min(large, half - 1);
  return bucket;
}

/** The bias over distances up to max_position_embeddings, from encoder.relative_attention_bias.weight. */
export function loadRelativeAttentionBias(ckpt: Checkpoint, config: BertConfig): PositionBias {
  const numBuckets = config.relative_attention_num_buckets;
  const maxDistance = config.max_position_embeddings;
  const bucketOfDistance = new Int32Array(2 * maxDistance + 1);
  for (let d = -maxDistance; d <= maxDistance; d++) bucketOfDistance[d + maxDistance] = relativePositionBucket(d, numBuckets);
  return {
    table: ckpt.base("encoder.relative_attention_bias.weight", [numBuckets, config.num_attention_heads]),
    numBuckets,
    bucketOfDistance,
    maxDistance,
  };
}
