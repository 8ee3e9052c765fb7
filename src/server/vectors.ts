/**
 * Per-request finishing of pooled vectors (Matryoshka truncation to `dimensions`, then L2
 * normalisation: pooling/dimensions.ts, shared with SentenceEncoder, so the numbers match it bit
 * for bit) and the OpenAI base64 encoding (little-endian float32 bytes).
 */
import { endianness } from "node:os";
import { truncateAndNormalize } from "../pooling/dimensions.js";
import { invalid } from "./errors.js";

export function finishEmbedding(pooled: Float32Array, normalize: boolean, dimensions: number | null | undefined): Float32Array {
  checkDimensions(dimensions, pooled.length);
  return truncateAndNormalize(pooled, dimensions ?? undefined, normalize);
}

export function checkDimensions(dimensions: number | null | undefined, modelDimension: number): void {
  if (dimensions !== null && dimensions !== undefined && dimensions > modelDimension) {
    throw invalid(`\`dimensions\` ${dimensions} is more than the model's ${modelDimension}`);
  }
}

const littleEndian = endianness() === "LE";

export function float32Base64(v: Float32Array): string {
  if (littleEndian) return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64");
  const bytes = Buffer.alloc(v.length * 4);
  for (let i = 0; i < v.length; i++) bytes.writeFloatLE(v[i], i * 4);
  return bytes.toString("base64");
}
