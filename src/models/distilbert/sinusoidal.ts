/**
 * DistilBERT's fixed position table when `sinusoidal_pos_embds` (modeling_distilbert.py
 * _create_sinusoidal_embeddings): angle(pos, j) = pos / 10000^(2·⌊j/2⌋ / dim) in float64, sin on
 * even columns and cos on odd ones, then rounded to float32.
 */
export function sinusoidalPositionTable(numPositions: number, dim: number): Float32Array {
  const out = new Float32Array(numPositions * dim); // [numPositions, dim]
  for (let pos = 0; pos < numPositions; pos++) {
    for (let j = 0; j < dim; j++) {
      const angle = pos / Math.pow(10000, (2 * Math.floor(j / 2)) / dim);
      out[pos * dim + j] = j % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
    }
  }
  return out;
}
