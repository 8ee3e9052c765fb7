/**
 * The embedding layer in TypeScript: the sums gathered row by row, then the backend's own
 * addLayerNorm. The reference and wasm backends use it (the wasm kernels would need the whole word
 * table copied into linear memory); the native backend gathers in C++.
 */
import { halfBitsToFloat32 } from "../io/dtype.js";
import { checkLength, output, type Backend, type EmbeddingTables } from "./backend.js";

/** The sums before LayerNorm are formed a chunk of rows at a time, so only the output is batch-sized. */
const CHUNK_ROWS = 512;

/** Throws a RangeError for the first id outside its table (the kernels index without checks). */
export function checkEmbeddingIds(tables: EmbeddingTables, ids: Int32Array, typeIds: Int32Array, positionIds: Int32Array): void {
  const { width: h, tokenTypes } = tables;
  const vocab = (tables.words instanceof Float32Array ? tables.words.length : tables.words.bits.length) / h;
  const types = tokenTypes ? tokenTypes.length / h : 0;
  const maxPos = tables.positions.length / h;
  checkLength("the position ids", positionIds, ids.length);
  if (tokenTypes) checkLength("the token type ids", typeIds, ids.length);
  checkLength("gamma", tables.gamma, h);
  checkLength("beta", tables.beta, h);
  for (let r = 0; r < ids.length; r++) {
    const id = ids[r];
    if (!(id >= 0 && id < vocab)) throw new RangeError(`Token id ${id} is outside the vocabulary (size ${vocab})`);
    if (tokenTypes && !(typeIds[r] >= 0 && typeIds[r] < types)) throw new RangeError(`Token type id ${typeIds[r]} is outside 0..${types - 1}`);
    const pos = positionIds[r];
    if (!(pos >= 0 && pos < maxPos)) {
      throw new RangeError(`Sequence too long: position ${pos} exceeds max_position_embeddings ${maxPos}; truncate the input`);
    }
  }
}

/** Backend.embeddingLayerNorm over the backend's addLayerNorm (ids checked here). */
export function gatherEmbeddingLayerNorm(
  backend: Backend,
  tables: EmbeddingTables,
  ids: Int32Array,
  typeIds: Int32Array,
  positionIds: Int32Array,
  out?: Float32Array,
): Float32Array {
  checkEmbeddingIds(tables, ids, typeIds, positionIds);
  const { width: h, words, tokenTypes, positions } = tables;
  const rows = ids.length;
  const y = output(out, rows * h);
  const x = new Float32Array(Math.min(rows, CHUNK_ROWS) * h);
  // Half-precision tables: each gathered row is converted into `row` first (exact).
  const row = words instanceof Float32Array ? undefined : new Float32Array(h);
  for (let r = 0; r < rows; r++) {
    const chunkRow = r % CHUNK_ROWS;
    const o = chunkRow * h;
    let word: Float32Array, wo: number;
    if (words instanceof Float32Array) {
      word = words;
      wo = ids[r] * h;
    } else {
      halfBitsToFloat32(words.format, words.bits, ids[r] * h, row!);
      word = row!;
      wo = 0;
    }
    // Same float32 order as PyTorch: (word + type) + position.
    if (tokenTypes) {
      const to = typeIds[r] * h;
      for (let c = 0; c < h; c++) x[o + c] = word[wo + c] + tokenTypes[to + c];
    } else {
      x.set(word.subarray(wo, wo + h), o);
    }
    const po = positionIds[r] * h;
    for (let c = 0; c < h; c++) x[o + c] += positions[po + c];
    if (chunkRow === CHUNK_ROWS - 1 || r === rows - 1) {
      const first = r - chunkRow, n = chunkRow + 1;
      backend.addLayerNorm(x.subarray(0, n * h), null, n, h, tables.gamma, tables.beta, tables.eps, y.subarray(first * h, (first + n) * h));
    }
  }
  return y;
}
