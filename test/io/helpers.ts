/** Crafting weight files byte by byte for the io tests, in a temp folder removed after the run. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { WeightFileError } from "../../src/io/errors.js";
import type { WeightTensor } from "../../src/io/dtype.js";
import type { StoredTensor } from "../../src/io/stored-tensor.js";

/** A fresh temp folder; call the returned cleanup in after(). */
export function makeTempDir(prefix = "bert-ts-io-"): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function writeFile(dir: string, name: string, bytes: Uint8Array | string): string {
  const path = join(dir, name);
  writeFileSync(path, bytes);
  return path;
}

export function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(new Float32Array(values).buffer);
}

/** safetensors bytes from a header object and a data area; headerLength overrides the stored length. */
export function safetensorsBytes(header: unknown, data: Uint8Array, opts: { headerLength?: bigint; rawHeader?: Uint8Array } = {}): Buffer {
  let json = opts.rawHeader ?? Buffer.from(JSON.stringify(header), "utf8");
  // pad with spaces to 8 bytes, as the reference writer does, so f32 data is aligned
  if (!opts.rawHeader && json.length % 8 !== 0) json = Buffer.concat([json, Buffer.alloc(8 - (json.length % 8), 0x20)]);
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(opts.headerLength ?? BigInt(json.length));
  return Buffer.concat([len, json, data]);
}

/** A valid file: tensors laid out back to back in the given order. */
export function buildSafetensors(tensors: { name: string; dtype: string; shape: number[]; bytes: Uint8Array }[]): Buffer {
  const header: Record<string, unknown> = { __metadata__: { format: "pt" } };
  let offset = 0;
  for (const t of tensors) {
    // defineProperty: a tensor named "__proto__" must become a key, not the prototype
    Object.defineProperty(header, t.name, { value: { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + t.bytes.length] }, enumerable: true });
    offset += t.bytes.length;
  }
  return safetensorsBytes(header, Buffer.concat(tensors.map((t) => t.bytes)));
}

/** Awaits a rejection that must be a WeightFileError naming `file` (and `tensor` when given) and matching `message`. */
export async function assertWeightError(
  promise: Promise<unknown>,
  expected: { file: string; tensor?: string; message: RegExp },
): Promise<WeightFileError> {
  let caught: unknown;
  try {
    await promise;
  } catch (err) {
    caught = err;
  }
  assert.ok(caught instanceof WeightFileError, `expected a WeightFileError, got ${caught instanceof Error ? caught.stack : String(caught)}`);
  assert.equal(caught.file, expected.file);
  if (expected.tensor !== undefined) assert.equal(caught.tensor, expected.tensor);
  assert.match(caught.message, expected.message);
  assert.ok(caught.message.includes(expected.file), `message names the file: ${caught.message}`);
  return caught;
}

/** sha256 over name + float32 bytes of each tensor, names sorted: every value of every tensor. */
export function digestTensors(tensors: Iterable<WeightTensor | StoredTensor>): string {
  const sorted = [...tensors].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const h = createHash("sha256");
  for (const t of sorted) {
    h.update(t.name);
    const data = "data" in t ? t.data : t.float32();
    h.update(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  }
  return h.digest("hex");
}
