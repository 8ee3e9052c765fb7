/**
 * Hierarchical pooling: a long document is embedded in parts (overlapping token windows, or
 * sentences), and the parts' vectors combine into one document vector. Normalisation, if any,
 * comes after (the caller's).
 */

/** mean: plain mean of the part vectors; weighted: mean weighted by each part's token count
 * (special tokens included); max: elementwise maximum. */
export type PartPooling = "mean" | "weighted" | "max";

export const PART_POOLINGS: readonly PartPooling[] = ["mean", "weighted", "max"];

export function parsePartPooling(name: string, what = "window pooling"): PartPooling {
  if (!(PART_POOLINGS as readonly string[]).includes(name)) {
    throw new Error(`Unknown ${what} "${name}"; expected one of: ${PART_POOLINGS.join(", ")}`);
  }
  return name as PartPooling;
}

/** One document vector from its parts' vectors (float64 sums). tokenCounts: per part, for "weighted". */
export function combineParts(vectors: readonly Float32Array[], tokenCounts: readonly number[], mode: PartPooling): Float32Array {
  if (!(PART_POOLINGS as readonly string[]).includes(mode)) throw new Error(`Unknown part pooling "${mode}"; expected one of: ${PART_POOLINGS.join(", ")}`);
  if (vectors.length === 0) throw new Error("Expected at least one part to pool");
  if (tokenCounts.length !== vectors.length) throw new Error(`Expected ${vectors.length} token counts but received ${tokenCounts.length}`);
  if (vectors.length === 1) return vectors[0].slice();
  const dim = vectors[0].length;
  if (mode === "max") {
    const out = vectors[0].slice();
    for (const v of vectors) for (let c = 0; c < dim; c++) if (v[c] > out[c]) out[c] = v[c];
    return out;
  }
  const weights = mode === "weighted" ? tokenCounts : vectors.map(() => 1);
  const total = weights.reduce((a, b) => a + b, 0);
  const acc = new Float64Array(dim);
  vectors.forEach((v, k) => {
    for (let c = 0; c < dim; c++) acc[c] += weights[k] * v[c];
  });
  return Float32Array.from(acc, (x) => x / total);
}

/** A sentence of a text: its [start, end) UTF-16 span, surrounding whitespace left out. */
export interface SentenceSpan {
  text: string;
  span: [number, number];
}

/**
 * The text's sentences by Intl.Segmenter (Unicode sentence boundaries, per locale). Whitespace-only
 * segments are dropped; a text with no sentence at all is one part covering the whole text.
 */
export function splitSentences(text: string, locale?: string): SentenceSpan[] {
  let segmenter: Intl.Segmenter;
  try {
    segmenter = new Intl.Segmenter(locale, { granularity: "sentence" });
  } catch (err) {
    throw new Error(`Invalid locale ${JSON.stringify(locale)}: ${(err as Error).message}`);
  }
  const out: SentenceSpan[] = [];
  for (const { segment, index } of segmenter.segment(text)) {
    const lead = segment.length - segment.trimStart().length;
    const body = segment.trim();
    if (body.length === 0) continue;
    out.push({ text: body, span: [index + lead, index + lead + body.length] });
  }
  return out.length > 0 ? out : [{ text, span: [0, text.length] }];
}
