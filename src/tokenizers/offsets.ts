/**
 * Encoding offsets are JavaScript string indices (UTF-16 code units): right for text.slice(). Python
 * (Hugging Face's tokenizers) counts code points, which differ after any character outside the
 * Basic Multilingual Plane (emoji, rare CJK). This converts one to the other.
 */
import type { Encoding } from "./encoding.js";

/** Code-point index of every UTF-16 index of text (length + 1 entries). */
function codePointIndex(text: string): Int32Array {
  const out = new Int32Array(text.length + 1);
  let cp = 0;
  for (let i = 0; i < text.length; i++) {
    out[i] = cp;
    const c = text.charCodeAt(i);
    const pairsWithNext = c >= 0xd800 && c <= 0xdbff && i + 1 < text.length && (text.charCodeAt(i + 1) & 0xfc00) === 0xdc00;
    if (pairsWithNext) out[++i] = cp; // the low half belongs to the same code point
    cp++;
  }
  out[text.length] = cp;
  return out;
}

/**
 * The encoding's offsets in code points (Python's str indices). text/pair: the strings that were
 * encoded; second-sequence tokens index into pair. Special tokens keep [0, 0].
 */
export function codePointOffsets(encoding: Encoding, text: string, pair?: string | null): [number, number][] {
  const maps = [codePointIndex(text), pair === undefined || pair === null ? null : codePointIndex(pair)];
  return encoding.offsets.map(([s, e], k) => {
    const seq = encoding.sequenceIds[k];
    const map = seq === null ? null : maps[seq];
    return map ? [map[s], map[e]] : [s, e];
  });
}
