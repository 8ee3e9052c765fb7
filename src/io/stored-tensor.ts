/**
 * A tensor of a weight store: its name, dtype and shape are known up front; its values are produced
 * when asked for. Lazily read files (safetensors) read them from disk at that moment, so a model can
 * pack each weight as it goes and nothing holds a second copy of the file.
 */
import type { WeightDType, WeightTensor } from "./dtype.js";

/** How a tensor's values can be copied out without rounding: float32, or the bits of f16 / bf16 values. */
export type ValueStorage = "f32" | "f16" | "bf16";

export interface StoredTensor {
  readonly name: string;
  /** What the file stored. */
  readonly dtype: WeightDType;
  readonly shape: readonly number[];
  /** Number of elements (the product of shape). */
  readonly numel: number;
  /** The form copyTo() writes: the stored f16/bf16 bits for half-precision tensors, else float32. */
  readonly storage: ValueStorage;
  /**
   * The values as float32. Lazily read tensors return a new array on each call (read once and keep
   * it); eagerly read ones may return a view shared with tied tensors. Treat it as read-only.
   */
  float32(): Float32Array;
  /** Copies the values in `storage` form: into a Float32Array for "f32", a Uint16Array of bits for halves. */
  copyTo(dst: Float32Array | Uint16Array): void;
}

function checkDestination(t: StoredTensor, dst: Float32Array | Uint16Array): void {
  const want = t.storage === "f32" ? "Float32Array" : "Uint16Array";
  const ok = t.storage === "f32" ? dst instanceof Float32Array : dst instanceof Uint16Array;
  if (!ok || dst.length !== t.numel) {
    throw new Error(`Expected a ${want} of ${t.numel} values to copy "${t.name}" into but received a ${dst.constructor.name} of ${dst.length}`);
  }
}

/** A tensor already converted to float32 in memory (pytorch_model.bin, tests). */
export function inMemoryTensor(t: WeightTensor): StoredTensor {
  const numel = t.data.length;
  const tensor: StoredTensor = {
    name: t.name,
    dtype: t.dtype,
    shape: t.shape,
    numel,
    storage: "f32",
    float32: () => t.data,
    copyTo(dst) {
      checkDestination(tensor, dst);
      (dst as Float32Array).set(t.data);
    },
  };
  return tensor;
}

/**
 * A tensor whose values are read on demand: `readBytes` copies its stored bytes (numel ×
 * elementBytes) into the target; `toFloat32` converts such bytes for dtypes other than F32.
 */
export function lazyTensor(
  name: string,
  dtype: WeightDType,
  shape: readonly number[],
  numel: number,
  readBytes: (target: Uint8Array) => void,
  toFloat32: (bytes: Uint8Array) => Float32Array,
  elementBytes: number,
): StoredTensor {
  const storage: ValueStorage = dtype === "F16" ? "f16" : dtype === "BF16" ? "bf16" : "f32";
  const tensor: StoredTensor = {
    name,
    dtype,
    shape,
    numel,
    storage,
    float32() {
      if (dtype === "F32") {
        const out = new Float32Array(numel);
        readBytes(new Uint8Array(out.buffer));
        return out;
      }
      const bytes = new Uint8Array(numel * elementBytes);
      readBytes(bytes);
      return toFloat32(bytes);
    },
    copyTo(dst) {
      checkDestination(tensor, dst);
      if (storage === "f32" && dtype !== "F32") {
        (dst as Float32Array).set(tensor.float32());
        return;
      }
      readBytes(new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength));
    },
  };
  return tensor;
}
