/** Backend.meanPool in TypeScript (the reference and wasm backends; the native backend sums in C++). */
import { output } from "./backend.js";

/** Throws unless seqStarts describes sequences of rows inside x [rows, width]. */
export function checkPoolRows(x: Float32Array, seqStarts: Int32Array, width: number): void {
  if (!(Number.isInteger(width) && width >= 1)) throw new RangeError(`Expected a positive integer width but received ${width}`);
  if (seqStarts.length < 1 || seqStarts[0] < 0) throw new RangeError("Expected seqStarts to start at a row >= 0");
  for (let s = 0; s + 1 < seqStarts.length; s++) {
    if (seqStarts[s + 1] < seqStarts[s]) throw new RangeError("Expected seqStarts to be non-decreasing");
  }
  const want = seqStarts[seqStarts.length - 1] * width;
  if (x.length < want) throw new RangeError(`Expected at least ${want} values for the pooled rows but received ${x.length}`);
}

export function meanPoolRows(x: Float32Array, seqStarts: Int32Array, width: number, out?: Float32Array): Float32Array {
  checkPoolRows(x, seqStarts, width);
  const n = seqStarts.length - 1;
  const y = output(out, n * width);
  const acc = new Float64Array(width);
  for (let s = 0; s < n; s++) {
    acc.fill(0);
    const first = seqStarts[s], end = seqStarts[s + 1];
    for (let r = first; r < end; r++) {
      const o = r * width;
      for (let c = 0; c < width; c++) acc[c] += x[o + c];
    }
    const len = end - first;
    for (let c = 0; c < width; c++) y[s * width + c] = acc[c] / len;
  }
  return y;
}
