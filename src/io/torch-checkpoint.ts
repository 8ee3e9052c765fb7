/** pytorch_model.bin reader — the zip + restricted-unpickler implementation follows in the next commit. */
import type { WeightTensor } from "./dtype.js";
import { readWholeFile, WeightFileError } from "./errors.js";

export function parseTorchCheckpoint(_buf: Uint8Array, file: string): WeightTensor[] {
  throw new WeightFileError(file, "reading pytorch_model.bin is not implemented yet");
}

export async function readTorchCheckpoint(file: string): Promise<WeightTensor[]> {
  return parseTorchCheckpoint(await readWholeFile(file), file);
}

export async function readTorchCheckpointFile(file: string): Promise<{ tensors: WeightTensor[]; bytes: number }> {
  const buf = await readWholeFile(file);
  return { tensors: parseTorchCheckpoint(buf, file), bytes: buf.length };
}
