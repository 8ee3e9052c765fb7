import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { f16ToF32Bits, toFloat32 } from "../../src/io/dtype.js";

/** Independent, slow decoding of an f16 bit pattern by its definition. */
function f16Reference(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * Math.pow(2, -24);
  if (exp === 31) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * Math.pow(2, exp - 15);
}

test("f16 table: every one of the 65,536 patterns equals the definition", () => {
  const floats = new Float32Array(f16ToF32Bits().buffer);
  for (let h = 0; h < 65536; h++) {
    const want = f16Reference(h);
    if (Number.isNaN(want)) assert.ok(Number.isNaN(floats[h]), `h=${h.toString(16)}`);
    else assert.ok(Object.is(floats[h], want), `h=0x${h.toString(16)}: ${floats[h]} != ${want}`);
  }
});

test("f16 table: bit-identical to numpy's float16 → float32 (NaN payloads included)", () => {
  // sha256 of np.arange(65536, dtype=np.uint16).view(np.float16).astype(np.float32).tobytes()
  const bits = f16ToF32Bits();
  const digest = createHash("sha256").update(new Uint8Array(bits.buffer)).digest("hex");
  assert.equal(digest, "f4fdd084f85448d28c84f20fabf4022ba938e40b7f382d2727dec6f41ac6267a");
  // a few patterns numpy printed as uint32: sNaN 0x7c01, -qNaN 0xfe00, min subnormals, max subnormal, max normal
  assert.deepEqual(
    [0x7c01, 0xfe00, 0x0001, 0x8001, 0x03ff, 0x7bff].map((h) => bits[h]),
    [2139103232, 4290772992, 864026624, 3011510272, 947896320, 1199562752],
  );
});

test("toFloat32 converts f16 (with NaN payload kept) and bf16 bit-exactly", () => {
  const f16 = new Uint8Array(new Uint16Array([0x3c00, 0xc000, 0x7c01, 0x0001, 0x7c00]).buffer);
  const out = toFloat32(f16, 0, 5, "F16");
  assert.deepEqual(Array.from(out.subarray(0, 2)), [1, -2]);
  assert.equal(new Uint32Array(out.buffer)[2], 0x7f802000);
  assert.equal(out[3], 2 ** -24);
  assert.equal(out[4], Infinity);
  const bf16 = new Uint8Array(new Uint16Array([0x3f80, 0xbfc0, 0x0001, 0xff80]).buffer);
  assert.deepEqual(Array.from(toFloat32(bf16, 0, 4, "BF16")), [1, -1.5, new Float32Array(new Uint32Array([0x00010000]).buffer)[0], -Infinity]);
});

test("toFloat32: aligned f32 is a view, unaligned f32 and f16 are copied correctly", () => {
  const bytes = new Uint8Array(4 * 3 + 1);
  new DataView(bytes.buffer).setFloat32(1, 1.5, true);
  new DataView(bytes.buffer).setFloat32(5, -2.25, true);
  const unaligned = toFloat32(bytes, 1, 2, "F32");
  assert.deepEqual(Array.from(unaligned), [1.5, -2.25]);
  assert.notEqual(unaligned.buffer, bytes.buffer);
  const alignedBytes = new Uint8Array(new Float32Array([3, 4, 5]).buffer);
  const view = toFloat32(alignedBytes, 4, 2, "F32");
  assert.equal(view.buffer, alignedBytes.buffer);
  assert.deepEqual(Array.from(view), [4, 5]);
  const odd = new Uint8Array([0, 0x00, 0x3c, 0x00, 0xc0]); // f16 1, -2 at odd offset 1
  assert.deepEqual(Array.from(toFloat32(odd, 1, 2, "F16")), [1, -2]);
});

test("toFloat32 converts integer and f64 dtypes", () => {
  assert.deepEqual(Array.from(toFloat32(new Uint8Array(new BigInt64Array([0n, 511n, -3n]).buffer), 0, 3, "I64")), [0, 511, -3]);
  assert.deepEqual(Array.from(toFloat32(new Uint8Array(new Int32Array([7, -8]).buffer), 0, 2, "I32")), [7, -8]);
  assert.deepEqual(Array.from(toFloat32(new Uint8Array(new Float64Array([0.1, -2]).buffer), 0, 2, "F64")), [Math.fround(0.1), -2]);
  assert.deepEqual(Array.from(toFloat32(new Uint8Array([0, 1, 2]), 0, 3, "BOOL")), [0, 1, 1]);
});
