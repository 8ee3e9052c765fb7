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
  /**
   * Copies dst.length values starting at element `first`, in `storage` form, reading no more of the
   * file than that (a few rows of a large table). False when this tensor cannot (a dtype that is
   * converted as a whole): read it whole instead.
   */
  copyRangeTo(first: number, dst: Float32Array | Uint16Array): boolean;
  /**
   * Where the stored bytes sit in a file, when they are there exactly as `storage` form (F32, F16 or
   * BF16 as stored): a backend that can map files reads such a tensor in place (RowTable).
   */
  readonly location?: FileLocation;
}

/** A tensor's bytes in a file: [byteOffset, byteOffset + numel × element size) of `file`, which held fileBytes bytes when opened. */
export interface FileLocation {
  readonly file: string;
  readonly byteOffset: number;
  readonly fileBytes: number;
}

function checkRange(t: StoredTensor, first: number, dst: Float32Array | Uint16Array): void {
  const ok = t.storage === "f32" ? dst instanceof Float32Array : dst instanceof Uint16Array;
  if (!ok || !Number.isSafeInteger(first) || first < 0 || first + dst.length > t.numel) {
    throw new RangeError(`Expected a range inside the ${t.numel} values of "${t.name}" (storage ${t.storage}) but received [${first}, ${first + dst.length}) into a ${dst.constructor.name}`);
  }
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
    copyRangeTo(first, dst) {
      checkRange(tensor, first, dst);
      (dst as Float32Array).set(t.data.subarray(first, first + dst.length));
      return true;
    },
  };
  return tensor;
}

/**
 * A tensor whose values are read on demand: `readBytes` copies its stored bytes from byte `at` of
 * the tensor (numel × elementBytes in all) into the target; `toFloat32` converts such bytes for
 * dtypes other than F32.
 */
export function lazyTensor(
  name: string,
  dtype: WeightDType,
  shape: readonly number[],
  numel: number,
  readBytes: (target: Uint8Array, at: number) => void,
  toFloat32: (bytes: Uint8Array) => Float32Array,
  elementBytes: number,
  location?: FileLocation,
): StoredTensor {
  const storage: ValueStorage = dtype === "F16" ? "f16" : dtype === "BF16" ? "bf16" : "f32";
  const asStored = dtype === "F32" || dtype === "F16" || dtype === "BF16";
  const tensor: StoredTensor = {
    name,
    dtype,
    shape,
    numel,
    storage,
    location: asStored ? location : undefined,
    float32() {
      if (dtype === "F32") {
        const out = new Float32Array(numel);
        readBytes(new Uint8Array(out.buffer), 0);
        return out;
      }
      const bytes = new Uint8Array(numel * elementBytes);
      readBytes(bytes, 0);
      return toFloat32(bytes);
    },
    copyTo(dst) {
      checkDestination(tensor, dst);
      if (storage === "f32" && dtype !== "F32") {
        (dst as Float32Array).set(tensor.float32());
        return;
      }
      readBytes(new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength), 0);
    },
    copyRangeTo(first, dst) {
      checkRange(tensor, first, dst);
      // Stored as it is copied (F32 as float32, F16/BF16 as bits): the bytes are the values.
      if (storage === "f32" && dtype !== "F32") return false;
      readBytes(new Uint8Array(dst.buffer, dst.byteOffset, dst.byteLength), first * elementBytes);
      return true;
    },
  };
  return tensor;
}
