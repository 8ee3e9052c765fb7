import assert from "node:assert/strict";
import { after, describe, test } from "node:test";
import { truncateSync } from "node:fs";
import { openSafetensorsFile, parseSafetensors, readSafetensors } from "../../src/io/safetensors.js";
import { assertWeightError, buildSafetensors, f32Bytes, makeTempDir, safetensorsBytes, writeFile } from "./helpers.js";

const tmp = makeTempDir();
after(tmp.cleanup);

function entry(dtype: string, shape: number[], begin: number, end: number) {
  return { dtype, shape, data_offsets: [begin, end] };
}

describe("readSafetensors: valid files", () => {
  test("reads f32, f16, bf16 and i64 tensors with shapes and exact values", async () => {
    const file = writeFile(
      tmp.dir,
      "ok.safetensors",
      buildSafetensors([
        { name: "w", dtype: "F32", shape: [2, 3], bytes: f32Bytes([1, 2, 3, 4, 5, -6.5]) },
        { name: "h", dtype: "F16", shape: [2], bytes: new Uint8Array(new Uint16Array([0x3c00, 0xb800]).buffer) },
        { name: "b", dtype: "BF16", shape: [2], bytes: new Uint8Array(new Uint16Array([0x4049, 0xc2f7]).buffer) },
        { name: "ids", dtype: "I64", shape: [1, 3], bytes: new Uint8Array(new BigInt64Array([0n, 1n, 2n]).buffer) },
        { name: "scalar", dtype: "F32", shape: [], bytes: f32Bytes([7]) },
        { name: "empty", dtype: "F32", shape: [0, 4], bytes: new Uint8Array(0) },
      ]),
    );
    const tensors = await readSafetensors(file);
    const byName = new Map(tensors.map((t) => [t.name, t]));
    assert.deepEqual([...byName.keys()], ["w", "h", "b", "ids", "scalar", "empty"]);
    assert.deepEqual(byName.get("w")?.shape, [2, 3]);
    assert.deepEqual(Array.from(byName.get("w")!.data), [1, 2, 3, 4, 5, -6.5]);
    assert.equal(byName.get("h")?.dtype, "F16");
    assert.deepEqual(Array.from(byName.get("h")!.data), [1, -0.5]);
    assert.deepEqual(Array.from(byName.get("b")!.data), [3.140625, -123.5]);
    assert.deepEqual(Array.from(byName.get("ids")!.data), [0, 1, 2]);
    assert.deepEqual(Array.from(byName.get("scalar")!.data), [7]);
    assert.equal(byName.get("empty")?.data.length, 0);
  });

  test("each tensor gets its own array (nothing keeps the whole file alive); an odd offset reads correctly", async () => {
    const aligned = await readSafetensors(writeFile(tmp.dir, "al.safetensors", buildSafetensors([
      { name: "a", dtype: "F32", shape: [2], bytes: f32Bytes([1, 2]) },
      { name: "b", dtype: "F32", shape: [1], bytes: f32Bytes([3]) },
    ])));
    assert.notEqual(aligned[0].data.buffer, aligned[1].data.buffer);
    assert.equal(aligned[0].data.buffer.byteLength, 8);
    assert.deepEqual(Array.from(aligned[1].data), [3]);
    // a U8 tensor of 1 byte first pushes the f32 data to an odd offset
    const data = Buffer.concat([Buffer.from([9]), f32Bytes([0.25, -8])]);
    const file = writeFile(tmp.dir, "odd.safetensors", safetensorsBytes({ u: entry("U8", [1], 0, 1), f: entry("F32", [2], 1, 9) }, data));
    const odd = await readSafetensors(file);
    assert.deepEqual(Array.from(odd[1].data), [0.25, -8]);
    assert.deepEqual(Array.from(odd[0].data), [9]);
  });
});

describe("readSafetensors: f16/bf16 files", () => {
  const halves = (values: number[]) => new Uint8Array(new Uint16Array(values).buffer);
  // odd element counts, mixed f16/bf16, a zero-size tensor and a scalar: every alignment case
  const tensors = [
    { name: "h3", dtype: "F16", shape: [3], bytes: halves([0x3c00, 0xc000, 0x0001]) },
    { name: "b1", dtype: "BF16", shape: [1], bytes: halves([0x3fc0]) },
    { name: "none", dtype: "F16", shape: [0], bytes: new Uint8Array(0) },
    { name: "h2x2", dtype: "F16", shape: [2, 2], bytes: halves([0x3555, 0x7c00, 0xfc00, 0x8000]) },
    { name: "b5", dtype: "BF16", shape: [5], bytes: halves([0x4049, 0xc2f7, 0x0000, 0x8000, 0x7f80]) },
    { name: "s", dtype: "F16", shape: [], bytes: halves([0x4248]) },
  ];
  const bytes = buildSafetensors(tensors);

  test("values match the in-memory parser and the definition", async () => {
    const file = writeFile(tmp.dir, "halves.safetensors", bytes);
    const fromFile = await readSafetensors(file);
    const inMemory = parseSafetensors(bytes, file);
    assert.deepEqual(fromFile.map((t) => t.name), tensors.map((t) => t.name));
    for (let i = 0; i < tensors.length; i++) {
      assert.deepEqual(fromFile[i].shape, tensors[i].shape);
      assert.deepEqual(Array.from(fromFile[i].data), Array.from(inMemory[i].data), tensors[i].name);
    }
    const get = (name: string) => Array.from(fromFile.find((t) => t.name === name)!.data);
    assert.deepEqual(get("h3"), [1, -2, 2 ** -24]);
    assert.deepEqual(get("b1"), [1.5]);
    assert.deepEqual(get("none"), []);
    assert.deepEqual(get("h2x2"), [Math.fround(0.333251953125), Infinity, -Infinity, -0]);
    assert.ok(Object.is(get("h2x2")[3], -0));
    assert.deepEqual(get("b5"), [3.140625, -123.5, 0, -0, Infinity]);
    assert.deepEqual(get("s"), [3.140625]);
  });

  test("a larger file with random halves matches the in-memory parser bit for bit", async () => {
    let seed = 7;
    const rand16 = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16);
    const big = [1001, 2, 4096, 333].map((n, i) => ({
      name: `t${i}`,
      dtype: i % 2 ? "BF16" : "F16",
      shape: [n],
      bytes: halves(Array.from({ length: n }, rand16)),
    }));
    const buf = buildSafetensors(big);
    const file = writeFile(tmp.dir, "halves-big.safetensors", buf);
    const fromFile = await readSafetensors(file);
    const inMemory = parseSafetensors(buf, file);
    for (let i = 0; i < big.length; i++) {
      const a = new Uint32Array(fromFile[i].data.buffer, fromFile[i].data.byteOffset, fromFile[i].data.length);
      const b = new Uint32Array(inMemory[i].data.buffer, inMemory[i].data.byteOffset, inMemory[i].data.length);
      assert.deepEqual(a, b, big[i].name);
    }
  });
});

describe("openSafetensorsFile: tensors read on demand", () => {
  const halves = (values: number[]) => new Uint8Array(new Uint16Array(values).buffer);
  const build = () =>
    buildSafetensors([
      { name: "h", dtype: "F16", shape: [2, 2], bytes: halves([0x3c00, 0xc000, 0x0001, 0x7e01]) },
      { name: "b", dtype: "BF16", shape: [3], bytes: halves([0x3fc0, 0x8000, 0x7f80]) },
      { name: "f", dtype: "F32", shape: [2], bytes: f32Bytes([0.5, -3]) },
      { name: "i", dtype: "I64", shape: [2], bytes: new Uint8Array(new BigInt64Array([5n, -7n]).buffer) },
    ]);

  test("half-precision tensors copy out their stored bits; others as float32", () => {
    const file = writeFile(tmp.dir, "lazy.safetensors", build());
    const opened = openSafetensorsFile(file);
    try {
      const byName = new Map(opened.tensors.map((t) => [t.name, t]));
      const h = byName.get("h")!, b = byName.get("b")!, f = byName.get("f")!, i = byName.get("i")!;
      assert.deepEqual([h.storage, b.storage, f.storage, i.storage], ["f16", "bf16", "f32", "f32"]);
      assert.deepEqual([h.numel, b.numel, f.numel, i.numel], [4, 3, 2, 2]);
      const bits = new Uint16Array(4);
      h.copyTo(bits);
      assert.deepEqual(Array.from(bits), [0x3c00, 0xc000, 0x0001, 0x7e01], "the file's bits, NaN payload included");
      const bb = new Uint16Array(3);
      b.copyTo(bb);
      assert.deepEqual(Array.from(bb), [0x3fc0, 0x8000, 0x7f80]);
      const ff = new Float32Array(2);
      f.copyTo(ff);
      assert.deepEqual(Array.from(ff), [0.5, -3]);
      const ii = new Float32Array(2);
      i.copyTo(ii);
      assert.deepEqual(Array.from(ii), [5, -7]);
      assert.deepEqual(Array.from(h.float32()).slice(0, 3), [1, -2, 2 ** -24]);
      assert.notEqual(f.float32(), f.float32(), "each float32() call reads into a new array");
      assert.throws(() => h.copyTo(new Float32Array(4)), /Expected a Uint16Array of 4 values to copy "h"/);
      assert.throws(() => f.copyTo(new Float32Array(3)), /Expected a Float32Array of 2 values/);
    } finally {
      opened.close();
    }
  });

  test("a read after close, or from a file cut short after opening, is a WeightFileError naming the tensor", () => {
    const file = writeFile(tmp.dir, "lazy-cut.safetensors", build());
    const opened = openSafetensorsFile(file);
    const f = opened.tensors.find((t) => t.name === "f")!;
    truncateSync(file, 40);
    assert.throws(() => f.float32(), (err: Error) => err.name === "WeightFileError" && /tensor "f"/.test(err.message) && /file ended at byte/.test(err.message));
    opened.close();
    opened.close(); // idempotent
    assert.throws(() => f.float32(), /tensor "f": read after the file was closed/);
  });
});

describe("readSafetensors: truncated, corrupted or lying files", () => {
  const valid = buildSafetensors([
    { name: "a", dtype: "F32", shape: [2, 2], bytes: f32Bytes([1, 2, 3, 4]) },
    { name: "b", dtype: "F32", shape: [2], bytes: f32Bytes([5, 6]) },
  ]);

  test("file shorter than the 8-byte length", async () => {
    const file = writeFile(tmp.dir, "tiny.safetensors", valid.subarray(0, 5));
    await assertWeightError(readSafetensors(file), { file, message: /too short.*truncated/ });
  });

  test("empty file", async () => {
    const file = writeFile(tmp.dir, "empty.safetensors", new Uint8Array(0));
    await assertWeightError(readSafetensors(file), { file, message: /0 bytes, too short/ });
  });

  test("truncated inside the data area", async () => {
    const file = writeFile(tmp.dir, "trunc-data.safetensors", valid.subarray(0, valid.length - 3));
    await assertWeightError(readSafetensors(file), { file, tensor: "b", message: /run past the .*data area \(truncated\?\)/ });
  });

  test("truncated inside the header", async () => {
    const file = writeFile(tmp.dir, "trunc-header.safetensors", valid.subarray(0, 20));
    await assertWeightError(readSafetensors(file), { file, message: /header length \d+ runs past the end of the 20-byte file/ });
  });

  test("header length larger than the file", async () => {
    const file = writeFile(tmp.dir, "long.safetensors", safetensorsBytes({}, new Uint8Array(0), { headerLength: 5000n }));
    await assertWeightError(readSafetensors(file), { file, message: /header length 5000 runs past the end/ });
  });

  test("header length above the 100 MB cap (no allocation attempted)", async () => {
    const file = writeFile(tmp.dir, "huge.safetensors", safetensorsBytes({}, new Uint8Array(0), { headerLength: 0xffff_ffff_ffff_fff0n }));
    await assertWeightError(readSafetensors(file), { file, message: /exceeds the 100000000-byte cap/ });
  });

  test("header not JSON", async () => {
    const file = writeFile(tmp.dir, "notjson.safetensors", safetensorsBytes(null, new Uint8Array(0), { rawHeader: Buffer.from("{not json!") }));
    await assertWeightError(readSafetensors(file), { file, message: /header is not valid JSON/ });
  });

  test("header not UTF-8", async () => {
    const file = writeFile(tmp.dir, "notutf8.safetensors", safetensorsBytes(null, new Uint8Array(0), { rawHeader: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) }));
    await assertWeightError(readSafetensors(file), { file, message: /not valid UTF-8/ });
  });

  test("header a JSON array, not an object", async () => {
    const file = writeFile(tmp.dir, "array.safetensors", safetensorsBytes([1, 2], new Uint8Array(0)));
    await assertWeightError(readSafetensors(file), { file, message: /not a JSON object/ });
  });

  test("__metadata__ not a string map", async () => {
    const file = writeFile(tmp.dir, "meta.safetensors", safetensorsBytes({ __metadata__: { n: 1 } }, new Uint8Array(0)));
    await assertWeightError(readSafetensors(file), { file, message: /__metadata__ must be an object of strings/ });
  });

  test("unknown dtype", async () => {
    const file = writeFile(tmp.dir, "dtype.safetensors", safetensorsBytes({ x: entry("F17", [1], 0, 4) }, f32Bytes([1])));
    await assertWeightError(readSafetensors(file), { file, tensor: "x", message: /unknown dtype "F17"/ });
  });

  test("known but unsupported dtype (float8)", async () => {
    const file = writeFile(tmp.dir, "f8.safetensors", safetensorsBytes({ x: entry("F8_E4M3", [4], 0, 4) }, f32Bytes([1])));
    await assertWeightError(readSafetensors(file), { file, tensor: "x", message: /dtype F8_E4M3 is not supported/ });
  });

  test("non-integer or negative shape", async () => {
    for (const shape of [[1.5], [-1], ["2"]]) {
      const file = writeFile(tmp.dir, "shape.safetensors", safetensorsBytes({ x: { dtype: "F32", shape, data_offsets: [0, 4] } }, f32Bytes([1])));
      await assertWeightError(readSafetensors(file), { file, tensor: "x", message: /shape must be a list of non-negative integers/ });
    }
  });

  test("malformed data_offsets", async () => {
    const file = writeFile(tmp.dir, "offs.safetensors", safetensorsBytes({ x: { dtype: "F32", shape: [1], data_offsets: [0] } }, f32Bytes([1])));
    await assertWeightError(readSafetensors(file), { file, tensor: "x", message: /data_offsets must be \[begin, end\]/ });
    const back = writeFile(tmp.dir, "back.safetensors", safetensorsBytes({ x: entry("F32", [0], 4, 0) }, f32Bytes([1])));
    await assertWeightError(readSafetensors(back), { file: back, tensor: "x", message: /end before they begin/ });
  });

  test("offsets out of range", async () => {
    const file = writeFile(tmp.dir, "range.safetensors", safetensorsBytes({ a: entry("F32", [1], 0, 4), b: entry("F32", [2], 4, 12) }, f32Bytes([1, 2])));
    await assertWeightError(readSafetensors(file), { file, tensor: "b", message: /\[4, 12\] run past the 8-byte data area/ });
  });

  test("offsets beyond 2^53 are rejected, not rounded", async () => {
    const header = Buffer.from('{"x":{"dtype":"F32","shape":[1],"data_offsets":[18446744073709551612,18446744073709551616]}}');
    const file = writeFile(tmp.dir, "bigoff.safetensors", safetensorsBytes(null, f32Bytes([1]), { rawHeader: header }));
    await assertWeightError(readSafetensors(file), { file, tensor: "x", message: /data_offsets must be/ });
  });

  test("overlapping offsets", async () => {
    const file = writeFile(tmp.dir, "overlap.safetensors", safetensorsBytes({ a: entry("F32", [2], 0, 8), b: entry("F32", [2], 4, 12) }, f32Bytes([1, 2, 3])));
    await assertWeightError(readSafetensors(file), { file, tensor: "b", message: /overlap tensor "a"/ });
  });

  test("two tensors claiming the same bytes (tied weights are not allowed in safetensors)", async () => {
    const file = writeFile(tmp.dir, "same.safetensors", safetensorsBytes({ a: entry("F32", [2], 0, 8), b: entry("F32", [2], 0, 8) }, f32Bytes([1, 2])));
    await assertWeightError(readSafetensors(file), { file, message: /overlap tensor/ });
  });

  test("shape × dtype size differs from the byte length", async () => {
    const file = writeFile(tmp.dir, "mismatch.safetensors", safetensorsBytes({ a: entry("F32", [3], 0, 8) }, f32Bytes([1, 2])));
    await assertWeightError(readSafetensors(file), { file, tensor: "a", message: /shape \[3\] × F32 \(4 bytes\) = 12 bytes, but data_offsets \[0, 8\] hold 8/ });
    const huge = writeFile(tmp.dir, "hugeshape.safetensors", safetensorsBytes({ a: entry("F32", [1e9, 1e9, 1e9], 0, 8) }, f32Bytes([1, 2])));
    await assertWeightError(readSafetensors(huge), { file: huge, tensor: "a", message: /hold 8/ });
  });

  test("gap between tensors", async () => {
    const file = writeFile(tmp.dir, "gap.safetensors", safetensorsBytes({ a: entry("F32", [1], 0, 4), b: entry("F32", [1], 8, 12) }, f32Bytes([1, 2, 3])));
    await assertWeightError(readSafetensors(file), { file, tensor: "b", message: /gap of 4 unused bytes/ });
  });

  test("gap at the start of the data area", async () => {
    const file = writeFile(tmp.dir, "gap0.safetensors", safetensorsBytes({ a: entry("F32", [1], 4, 8) }, f32Bytes([1, 2])));
    await assertWeightError(readSafetensors(file), { file, tensor: "a", message: /gap of 4 unused bytes/ });
  });

  test("trailing bytes no tensor covers", async () => {
    const file = writeFile(tmp.dir, "trailing.safetensors", safetensorsBytes({ a: entry("F32", [1], 0, 4) }, f32Bytes([1, 2])));
    await assertWeightError(readSafetensors(file), { file, message: /data area is 8 bytes but the tensors cover only 4/ });
  });

  test("missing file", async () => {
    const file = `${tmp.dir}/nope.safetensors`;
    await assertWeightError(readSafetensors(file), { file, message: /cannot open: ENOENT/ });
  });

  test("random garbage never crashes: every failure is a WeightFileError", async () => {
    let seed = 12345;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let i = 0; i < 200; i++) {
      const bytes = Buffer.from(valid);
      // flip a few bytes, or truncate
      if (i % 3 === 0) {
        const file = writeFile(tmp.dir, "fuzz.safetensors", bytes.subarray(0, Math.floor(rand() * bytes.length)));
        await assertWeightError(readSafetensors(file), { file, message: /./ });
        continue;
      }
      for (let k = 0; k < 3; k++) bytes[Math.floor(rand() * Math.min(bytes.length, 8 + 80))] = Math.floor(rand() * 256);
      const file = writeFile(tmp.dir, "fuzz.safetensors", bytes);
      try {
        const tensors = await readSafetensors(file);
        for (const t of tensors) assert.equal(t.data.length, t.shape.reduce((a, b) => a * b, 1));
      } catch (err) {
        assert.equal((err as Error).name, "WeightFileError", (err as Error).stack);
      }
    }
  });
});
