/**
 * safetensors reader: [u64 LE header length N][N bytes of JSON header][data area].
 * The header is validated the way the reference implementation (huggingface/safetensors) does
 * before any tensor is touched: size cap, UTF-8, a JSON object, known dtypes, integer shapes,
 * offsets that tile the data area exactly (no gap, no overlap, nothing left over), and
 * shape × dtype size = byte length. Only then are tensors read, one at a time, so a lying header can
 * never make us allocate more than the file holds.
 */
import { assertLittleEndianHost, DTYPE_BYTES, isWeightDType, toFloat32 } from "./dtype.js";
import type { WeightDType, WeightTensor } from "./dtype.js";
import { WeightFileError } from "./errors.js";
import { OpenWeightFile } from "./host.js";
import { lazyTensor, type StoredTensor } from "./stored-tensor.js";

/** Same cap as the reference implementation: real headers are a few hundred KB at most. */
export const MAX_HEADER_BYTES = 100_000_000;

/** dtypes safetensors defines that we deliberately do not convert. */
const UNSUPPORTED_DTYPES = new Set(["F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "C64"]);

interface HeaderEntry {
  readonly name: string;
  readonly dtype: WeightDType;
  readonly shape: number[];
  readonly numel: number;
  /** Byte range inside the data area. */
  readonly begin: number;
  readonly end: number;
}

export interface SafetensorsHeader {
  readonly entries: readonly HeaderEntry[];
  readonly metadata: Readonly<Record<string, string>>;
  /** File offset of the data area (8 + header length). */
  readonly dataStart: number;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function isCount(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
}

function parseEntry(file: string, name: string, raw: unknown): HeaderEntry {
  const fail = (detail: string): never => {
    throw new WeightFileError(file, detail, { tensor: name });
  };
  if (!isPlainObject(raw)) return fail("header entry is not an object");
  const { dtype, shape, data_offsets: offsets } = raw;
  if (typeof dtype !== "string") return fail("dtype is missing or not a string");
  if (!isWeightDType(dtype)) {
    return fail(UNSUPPORTED_DTYPES.has(dtype) ? `dtype ${dtype} is not supported` : `unknown dtype ${JSON.stringify(dtype)}`);
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    return fail(`shape must be a list of non-negative integers, got ${JSON.stringify(shape)}`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    return fail(`data_offsets must be [begin, end] non-negative integers, got ${JSON.stringify(offsets)}`);
  }
  const [begin, end] = offsets as [number, number];
  if (end < begin) return fail(`data_offsets [${begin}, ${end}] end before they begin`);
  // A product past 2^53 is inexact, but then it cannot equal a byte length that fits in the file.
  const numel = (shape as number[]).reduce((a, b) => a * b, 1);
  const expected = numel * DTYPE_BYTES[dtype];
  if (expected !== end - begin) {
    return fail(
      `shape [${shape.join(", ")}] × ${dtype} (${DTYPE_BYTES[dtype]} bytes) = ${expected} bytes, ` +
        `but data_offsets [${begin}, ${end}] hold ${end - begin}`,
    );
  }
  return { name, dtype, shape: [...(shape as number[])], numel, begin, end };
}

/** The header length stored in the first 8 bytes, checked against the cap and the file size. */
function headerLength(first8: Uint8Array, fileSize: number, file: string): number {
  if (fileSize < 8) {
    throw new WeightFileError(file, `file is ${fileSize} bytes, too short for the 8-byte header length (truncated?)`);
  }
  const stored = new DataView(first8.buffer, first8.byteOffset, 8).getBigUint64(0, true);
  if (stored > BigInt(MAX_HEADER_BYTES)) {
    throw new WeightFileError(file, `header length ${stored} exceeds the ${MAX_HEADER_BYTES}-byte cap (not a safetensors file?)`);
  }
  const n = Number(stored);
  if (8 + n > fileSize) {
    throw new WeightFileError(file, `header length ${n} runs past the end of the ${fileSize}-byte file (truncated?)`);
  }
  return n;
}

/** Parses and validates the JSON header against a data area of `dataLen` bytes. */
function parseHeader(headerBytes: Uint8Array, dataLen: number, file: string): { entries: HeaderEntry[]; metadata: Record<string, string> } {
  let text: string;
  try {
    text = utf8.decode(headerBytes);
  } catch {
    throw new WeightFileError(file, "header is not valid UTF-8");
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new WeightFileError(file, `header is not valid JSON: ${(err as Error).message}`);
  }
  if (!isPlainObject(json)) throw new WeightFileError(file, "header is not a JSON object");

  let metadata: Record<string, string> = {};
  const entries: HeaderEntry[] = [];
  for (const [name, raw] of Object.entries(json)) {
    if (name === "__metadata__") {
      if (!isPlainObject(raw) || !Object.values(raw).every((v) => typeof v === "string")) {
        throw new WeightFileError(file, "__metadata__ must be an object of strings");
      }
      metadata = raw as Record<string, string>;
      continue;
    }
    const entry = parseEntry(file, name, raw);
    if (entry.end > dataLen) {
      throw new WeightFileError(
        file,
        `data_offsets [${entry.begin}, ${entry.end}] run past the ${dataLen}-byte data area (truncated?)`,
        { tensor: name },
      );
    }
    entries.push(entry);
  }

  // The tensors must tile the data area exactly, like the reference implementation requires.
  const byOffset = [...entries].sort((a, b) => a.begin - b.begin || a.end - b.end);
  let covered = 0;
  let previous: HeaderEntry | undefined;
  for (const e of byOffset) {
    if (e.begin < covered) {
      throw new WeightFileError(file, `data_offsets [${e.begin}, ${e.end}] overlap tensor "${previous?.name}"`, { tensor: e.name });
    }
    if (e.begin > covered) {
      throw new WeightFileError(file, `gap of ${e.begin - covered} unused bytes before data_offsets [${e.begin}, ${e.end}]`, {
        tensor: e.name,
      });
    }
    covered = e.end;
    previous = e;
  }
  if (covered !== dataLen) {
    throw new WeightFileError(file, `data area is ${dataLen} bytes but the tensors cover only ${covered}`);
  }
  return { entries, metadata };
}

/** Validates the header of a whole safetensors file held in `buf`. */
export function parseSafetensorsHeader(buf: Uint8Array, file: string): SafetensorsHeader {
  const n = headerLength(buf.subarray(0, 8), buf.length, file);
  const dataStart = 8 + n;
  return { ...parseHeader(buf.subarray(8, dataStart), buf.length - dataStart, file), dataStart };
}

/** Tensors of a safetensors file already in memory, in header order. */
export function parseSafetensors(buf: Uint8Array, file: string): WeightTensor[] {
  assertLittleEndianHost(file);
  const { entries, dataStart } = parseSafetensorsHeader(buf, file);
  return entries.map((e) => ({
    name: e.name,
    dtype: e.dtype,
    shape: e.shape,
    data: toFloat32(buf, dataStart + e.begin, e.numel, e.dtype),
  }));
}

/**
 * Opens a safetensors file for reading tensor by tensor: the header is read and validated now
 * (before anything large is allocated); each tensor's bytes are read from disk when asked for, so the
 * file is never held in memory as a whole. The file stays open until `close()` (or until nothing
 * references it).
 */
export function openSafetensorsFile(file: string): { tensors: StoredTensor[]; bytes: number; close(): void } {
  assertLittleEndianHost(file);
  const handle = OpenWeightFile.open(file);
  try {
    const first8 = new Uint8Array(8);
    if (handle.size >= 8) handle.readInto(first8, 0);
    const n = headerLength(first8, handle.size, file);
    const headerBytes = new Uint8Array(n);
    handle.readInto(headerBytes, 8);
    const dataStart = 8 + n;
    const { entries } = parseHeader(headerBytes, handle.size - dataStart, file);
    const tensors = entries.map((e) =>
      lazyTensor(
        e.name,
        e.dtype,
        e.shape,
        e.numel,
        (target, at) => handle.readInto(target, dataStart + e.begin + at, e.name),
        (bytes) => toFloat32(bytes, 0, e.numel, e.dtype),
        DTYPE_BYTES[e.dtype],
        { file, byteOffset: dataStart + e.begin, fileBytes: handle.size },
      ),
    );
    return { tensors, bytes: handle.size, close: () => handle.close() };
  } catch (err) {
    handle.close();
    throw err;
  }
}

/** Reads every tensor of a safetensors file into memory as float32 (f16/bf16 up-cast exactly). */
export async function readSafetensors(file: string): Promise<WeightTensor[]> {
  const opened = openSafetensorsFile(file);
  try {
    return opened.tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape, data: t.float32() }));
  } finally {
    opened.close();
  }
}
