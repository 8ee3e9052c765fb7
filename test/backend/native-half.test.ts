/**
 * The addon's half → float32 conversion (load-time conversion of half-precision checkpoints'
 * float32 tensors, src/io/dtype.ts): bit-identical to numpy's float16 → float32 on all 65,536
 * patterns (NaN payloads included), bf16 exact, and toFloat32 giving the same bits through it.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { toFloat32, useNativeHalfConversion } from "../../src/io/dtype.js";
import { addon, skipNative } from "./native-helpers.js";

// sha256 of np.arange(65536, dtype=np.uint16).view(np.float16).astype(np.float32).tobytes() (as test/io/dtype.test.ts)
const NUMPY_F16_SHA256 = "f4fdd084f85448d28c84f20fabf4022ba938e40b7f382d2727dec6f41ac6267a";

const allPatterns = () => Uint16Array.from({ length: 65536 }, (_, i) => i);

test("halfToFloat32 f16: every pattern bit-identical to numpy", { skip: skipNative }, () => {
  const out = new Float32Array(65536);
  addon().halfToFloat32!(allPatterns(), 1, out);
  assert.equal(createHash("sha256").update(new Uint8Array(out.buffer)).digest("hex"), NUMPY_F16_SHA256);
});

test("halfToFloat32 f16: any length and start (the 8-wide loop's tail and blocks holding NaN)", { skip: skipNative }, () => {
  const bits = allPatterns();
  const whole = new Float32Array(65536);
  addon().halfToFloat32!(bits, 1, whole);
  for (const [start, n] of [[0, 1], [3, 7], [0x7bf8, 13], [0x7c00 - 5, 9], [65536 - 11, 11]]) {
    const out = new Float32Array(n);
    addon().halfToFloat32!(bits.subarray(start, start + n), 1, out);
    assert.deepEqual(new Uint32Array(out.buffer), new Uint32Array(whole.buffer, 4 * start, n), `start ${start}, ${n} values`);
  }
});

test("halfToFloat32 bf16: the top half of a float32", { skip: skipNative }, () => {
  const out = new Float32Array(65536);
  addon().halfToFloat32!(allPatterns(), 2, out);
  const bits = new Uint32Array(out.buffer);
  for (let h = 0; h < 65536; h++) assert.equal(bits[h], (h << 16) >>> 0);
});

test("halfToFloat32 refuses a short source, a wrong format and wrong array types", { skip: skipNative }, () => {
  assert.throws(() => addon().halfToFloat32!(new Uint16Array(3), 1, new Float32Array(4)), /at least as many/);
  assert.throws(() => addon().halfToFloat32!(new Uint16Array(4), 3 as 1, new Float32Array(4)), /format/);
  assert.throws(() => addon().halfToFloat32!(new Uint8Array(8) as unknown as Uint16Array, 1, new Float32Array(4)), /Uint16Array/);
});

test("toFloat32 through the native conversion: same bits as the TypeScript one, aligned or not", { skip: skipNative }, () => {
  const bytes = new Uint8Array(2 * 65536 + 1);
  new Uint16Array(bytes.buffer, 0, 65536).set(allPatterns());
  const odd = new Uint8Array(2 * 65536 + 1);
  odd.set(bytes.subarray(0, 2 * 65536), 1);
  for (const dtype of ["F16", "BF16"] as const) {
    useNativeHalfConversion(undefined);
    const typescript = toFloat32(bytes, 0, 65536, dtype);
    useNativeHalfConversion(addon().halfToFloat32!.bind(addon()));
    try {
      assert.deepEqual(new Uint32Array(toFloat32(bytes, 0, 65536, dtype).buffer), new Uint32Array(typescript.buffer), dtype);
      assert.deepEqual(new Uint32Array(toFloat32(odd, 1, 65536, dtype).buffer), new Uint32Array(typescript.buffer), `${dtype}, odd offset`);
    } finally {
      useNativeHalfConversion(undefined);
    }
  }
});

test("the f16 table made through the native conversion is numpy's", { skip: skipNative }, async () => {
  // A fresh module instance: its table is not built yet, and it is built through the addon.
  const dtype = (await import(`../../src/io/dtype.js?fresh=${Date.now()}`)) as typeof import("../../src/io/dtype.js");
  dtype.useNativeHalfConversion(addon().halfToFloat32!.bind(addon()));
  const table = dtype.f16ToF32Bits();
  assert.notEqual(table, (await import("../../src/io/dtype.js")).f16ToF32Bits(), "a fresh module, with a table of its own");
  assert.equal(createHash("sha256").update(new Uint8Array(table.buffer)).digest("hex"), NUMPY_F16_SHA256);
});
