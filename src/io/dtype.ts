/**
 * Stored element types and their exact conversion to float32 (what torch's `.float()` gives):
 * f16 through a 65,536-entry bit table built once, bf16 by moving its bits into the high half of a
 * float32, f32 as a zero-copy view when the bytes are 4-byte aligned.
 */
import { WeightFileError } from "./errors.js";

/** Element types as safetensors names them (torch storages are mapped onto the same names). */
export type WeightDType =
  | "F64"
  | "F32"
  | "F16"
  | "BF16"
  | "I64"
  | "I32"
  | "I16"
  | "I8"
  | "U64"
  | "U32"
  | "U16"
  | "U8"
  | "BOOL";

/** One tensor of a weight file. `data` is always float32, row-major, `shape`'s product long. */
export interface WeightTensor {
  readonly name: string;
  /** What the file stored; `data` has been converted from it. */
  readonly dtype: WeightDType;
  readonly shape: readonly number[];
  /** May be a view on the file's buffer, shared with tied tensors: treat as read-only. */
  readonly data: Float32Array;
}

export const DTYPE_BYTES: Readonly<Record<WeightDType, number>> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U64: 8,
  U32: 4,
  U16: 2,
  U8: 1,
  BOOL: 1,
};

export function isWeightDType(s: string): s is WeightDType {
  return Object.prototype.hasOwnProperty.call(DTYPE_BYTES, s);
}

/** The first byte of a 16-bit 1 is 1 only on little-endian hosts (as os.endianness() says, without node:os). */
const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** All the byte-level readers below reinterpret file bytes in host order. */
export function assertLittleEndianHost(file: string): void {
  if (!LITTLE_ENDIAN_HOST) {
    throw new WeightFileError(file, "weight files are little-endian and this host is big-endian; not supported");
  }
}

/** Converts half-precision bits (format 1: f16, 2: bf16) into `out`, exactly; set by a native backend. */
type NativeHalfConversion = (bits: Uint16Array, format: 1 | 2, out: Float32Array) => void;
let nativeHalfConversion: NativeHalfConversion | undefined;

let f16Table: Uint32Array | undefined;

/**
 * float32 bit pattern of every f16 bit pattern, as numpy's and torch's `.float()` give (NaN payloads
 * kept). Bits rather than floats, so the copy loop never passes a NaN through a JS number.
 */
export function f16ToF32Bits(): Uint32Array {
  if (f16Table) return f16Table;
  const bits = new Uint32Array(65536);
  const floats = new Float32Array(bits.buffer);
  if (nativeHalfConversion) {
    // The same bits (test/backend/native-half.test.ts), without a branchy loop run once at start-up.
    const patterns = new Uint16Array(65536);
    for (let h = 0; h < 65536; h++) patterns[h] = h;
    nativeHalfConversion(patterns, 1, floats);
    f16Table = bits;
    return bits;
  }
  for (let h = 0; h < 65536; h++) {
    const sign = (h & 0x8000) << 16;
    const exp = (h >> 10) & 0x1f;
    const mant = h & 0x3ff;
    if (exp === 0) {
      // zero or subnormal: mant · 2^-24, exact in float32
      floats[h] = (sign ? -1 : 1) * mant * 2 ** -24;
    } else if (exp === 31) {
      bits[h] = sign | 0x7f800000 | (mant << 13); // inf / NaN
    } else {
      bits[h] = sign | ((exp + 112) << 23) | (mant << 13); // rebias 15 → 127
    }
  }
  f16Table = bits;
  return bits;
}

/**
 * f16 → float32 bits; `src` holds dst.length halves.
 */
export function convertF16(src: Uint8Array, dst: Uint32Array): void {
  const table = f16ToF32Bits();
  const n = dst.length;
  if (src.byteOffset % 4 === 0) {
    // two halves per 32-bit load: fewer loads in the hot loop
    const pairs = n >>> 1;
    const words = new Uint32Array(src.buffer, src.byteOffset, pairs);
    for (let i = 0; i < pairs; i++) {
      const w = words[i];
      dst[2 * i] = table[w & 0xffff];
      dst[2 * i + 1] = table[w >>> 16];
    }
    if (n & 1) dst[n - 1] = table[src[2 * n - 2] | (src[2 * n - 1] << 8)];
  } else if (src.byteOffset % 2 === 0) {
    const halves = new Uint16Array(src.buffer, src.byteOffset, n);
    for (let i = 0; i < n; i++) dst[i] = table[halves[i]];
  } else {
    for (let i = 0; i < n; i++) dst[i] = table[src[2 * i] | (src[2 * i + 1] << 8)];
  }
}

/** bf16 → float32 bits: bf16 is the top half of a float32, so this is exact. */
export function convertBF16(src: Uint8Array, dst: Uint32Array): void {
  const n = dst.length;
  if (src.byteOffset % 4 === 0) {
    const pairs = n >>> 1;
    const words = new Uint32Array(src.buffer, src.byteOffset, pairs);
    for (let i = 0; i < pairs; i++) {
      const w = words[i];
      dst[2 * i] = w << 16;
      dst[2 * i + 1] = w & 0xffff0000;
    }
    if (n & 1) dst[n - 1] = (src[2 * n - 2] | (src[2 * n - 1] << 8)) << 16;
  } else {
    for (let i = 0; i < n; i++) dst[i] = (src[2 * i] | (src[2 * i + 1] << 8)) << 16;
  }
}

/**
 * Half-precision bits (f16 or bf16) → float32, exactly: bits[start .. start + out.length) into out.
 * For weights kept in the checkpoint's precision (word-embedding rows at gather time, weight copies).
 */
export function halfBitsToFloat32(format: "f16" | "bf16", bits: Uint16Array, start: number, out: Float32Array): void {
  const dst = new Uint32Array(out.buffer, out.byteOffset, out.length);
  if (format === "f16") {
    const table = f16ToF32Bits();
    for (let i = 0; i < dst.length; i++) dst[i] = table[bits[start + i]];
  } else {
    for (let i = 0; i < dst.length; i++) dst[i] = bits[start + i] << 16;
  }
}

/** The bytes [byteOffset, byteOffset + byteLength) of src as an ArrayBuffer region aligned to `align`, copying only if needed. */
function aligned(src: Uint8Array, byteOffset: number, byteLength: number, align: number): { buffer: ArrayBuffer; offset: number } {
  const abs = src.byteOffset + byteOffset;
  if (abs % align === 0 && src.buffer instanceof ArrayBuffer) return { buffer: src.buffer, offset: abs };
  const copy = new Uint8Array(byteLength);
  copy.set(src.subarray(byteOffset, byteOffset + byteLength));
  return { buffer: copy.buffer, offset: 0 };
}

/**
 * Lets toFloat32 convert f16 / bf16 in native code (the native backend sets it when its addon loads):
 * a half-precision checkpoint's LayerNorms, biases and position embeddings are converted at every
 * load, and the JS loop runs once per tensor — interpreted, not yet optimised (~15 ms of a MiniLM
 * start, plus building the 65536-entry f16 table). Same bits either way.
 */
export function useNativeHalfConversion(convert: NativeHalfConversion | undefined): void {
  nativeHalfConversion = convert;
}

/**
 * `count` elements of `dtype` starting at src[byteOffset] as float32. The caller has checked the
 * range lies inside src. F32 data that is 4-byte aligned comes back as a view on src, not a copy.
 */
export function toFloat32(src: Uint8Array, byteOffset: number, count: number, dtype: WeightDType): Float32Array {
  if (dtype === "F16" || dtype === "BF16") {
    const out = new Float32Array(count);
    const bytes = src.subarray(byteOffset, byteOffset + 2 * count);
    if (nativeHalfConversion && src.buffer instanceof ArrayBuffer) {
      const { buffer, offset } = aligned(src, byteOffset, 2 * count, 2);
      nativeHalfConversion(new Uint16Array(buffer, offset, count), dtype === "F16" ? 1 : 2, out);
      return out;
    }
    (dtype === "F16" ? convertF16 : convertBF16)(bytes, new Uint32Array(out.buffer));
    return out;
  }
  const size = DTYPE_BYTES[dtype];
  const { buffer, offset } = aligned(src, byteOffset, count * size, size);
  switch (dtype) {
    case "F32":
      return new Float32Array(buffer, offset, count);
    case "F64":
      return new Float32Array(new Float64Array(buffer, offset, count));
    case "I64": {
      const v = new BigInt64Array(buffer, offset, count);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = Number(v[i]);
      return out;
    }
    case "U64": {
      const v = new BigUint64Array(buffer, offset, count);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = Number(v[i]);
      return out;
    }
    case "I32":
      return new Float32Array(new Int32Array(buffer, offset, count));
    case "U32":
      return new Float32Array(new Uint32Array(buffer, offset, count));
    case "I16":
      return new Float32Array(new Int16Array(buffer, offset, count));
    case "U16":
      return new Float32Array(new Uint16Array(buffer, offset, count));
    case "I8":
      return new Float32Array(new Int8Array(buffer, offset, count));
    case "U8":
      return new Float32Array(new Uint8Array(buffer, offset, count));
    case "BOOL": {
      const v = new Uint8Array(buffer, offset, count);
      const out = new Float32Array(count);
      for (let i = 0; i < count; i++) out[i] = v[i] === 0 ? 0 : 1;
      return out;
    }
  }
}
