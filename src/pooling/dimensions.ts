/**
 * Matryoshka truncation: keep a vector's first `dimensions` components, then L2-normalise when
 * asked — the order OpenAI's and TEI's `dimensions` use (a truncated unit vector is no longer one).
 * One function for SentenceEncoder.embed(), the CLI's --dimensions and the server, so they agree
 * bit for bit.
 */
import { l2NormalizeInPlace } from "./similarity.js";

/** Throws unless dimensions is undefined or an integer in 1..full. */
export function checkDimensions(dimensions: number | undefined, full: number): void {
  if (dimensions === undefined) return;
  if (!Number.isInteger(dimensions) || dimensions < 1 || dimensions > full) {
    throw new RangeError(`Expected dimensions between 1 and the model's ${full} but received ${dimensions}`);
  }
}

/** A new vector: the first `dimensions` components (all when undefined), normalised if asked. */
export function truncateAndNormalize(vector: Float32Array, dimensions: number | undefined, normalize: boolean): Float32Array {
  checkDimensions(dimensions, vector.length);
  const v = vector.slice(0, dimensions ?? vector.length);
  if (normalize) l2NormalizeInPlace(v);
  return v;
}
