import assert from "node:assert/strict";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, describe, test } from "node:test";
import { readTorchCheckpoint } from "../../src/io/torch-checkpoint.js";
import { loadWeights } from "../../src/io/weights.js";
import { crc32 } from "../../src/io/zip.js";
import { modelPath, skipUnlessModel } from "../helpers/paths.js";
import { assertWeightError, digestTensors, f32Bytes, makeTempDir, writeFile } from "./helpers.js";
import { buildZip, PickleWriter, stateDictPickle, torchZip } from "./torch-fixtures.js";
import type { FakeTensor } from "./torch-fixtures.js";

const tmp = makeTempDir();
after(tmp.cleanup);

const halves = (values: number[]) => new Uint8Array(new Uint16Array(values).buffer);
const i64 = (values: bigint[]) => new Uint8Array(new BigInt64Array(values).buffer);

function checkpoint(name: string, tensors: FakeTensor[], storages: Record<string, Uint8Array>, opts: Parameters<typeof torchZip>[2] & { ordered?: boolean } = {}): string {
  return writeFile(tmp.dir, name, torchZip(stateDictPickle(tensors, { ordered: opts.ordered }), storages, opts));
}

describe("readTorchCheckpoint: crafted checkpoints", () => {
  const storages = {
    "0": f32Bytes([0, 1, 2, 3, 4, 5]),
    "1": halves([0x3c00, 0xc000, 0x3800]),
    "2": halves([0x3f80, 0x4000]),
    "3": i64([0n, 1n, 2n, 3n]),
  };
  const tensors: FakeTensor[] = [
    { name: "w", key: "0", numel: 6, shape: [2, 3] },
    { name: "w.T", key: "0", numel: 6, shape: [3, 2], stride: [1, 3] }, // transposed view of the same storage
    { name: "tail", key: "0", numel: 6, offset: 4, shape: [2] }, // storage offset
    { name: "tied", key: "0", numel: 6, shape: [2, 3] }, // tied weight: same storage, same view
    { name: "h", storageType: "HalfStorage", key: "1", numel: 3, shape: [3] },
    { name: "b", storageType: "BFloat16Storage", key: "2", numel: 2, shape: [1, 2] },
    { name: "ids", storageType: "LongStorage", key: "3", numel: 4, offset: 1, shape: [1, 3], stride: [3, 1] },
    { name: "p", key: "0", numel: 6, shape: [3], stride: [2], parameter: true }, // every other element, via _rebuild_parameter
    { name: "empty", key: "0", numel: 6, shape: [0, 3] },
  ];

  async function check(file: string) {
    const out = await readTorchCheckpoint(file);
    const byName = new Map(out.map((t) => [t.name, t]));
    assert.deepEqual([...byName.keys()], tensors.map((t) => t.name));
    const values = (name: string) => Array.from(byName.get(name)!.data);
    assert.deepEqual(byName.get("w")?.shape, [2, 3]);
    assert.equal(byName.get("w")?.dtype, "F32");
    assert.deepEqual(values("w"), [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(byName.get("w.T")?.shape, [3, 2]);
    assert.deepEqual(values("w.T"), [0, 3, 1, 4, 2, 5]);
    assert.deepEqual(values("tail"), [4, 5]);
    assert.equal(byName.get("tied")!.data.buffer, byName.get("w")!.data.buffer, "tied weights share one array");
    assert.deepEqual(values("tied"), values("w"));
    assert.equal(byName.get("h")?.dtype, "F16");
    assert.deepEqual(values("h"), [1, -2, 0.5]);
    assert.equal(byName.get("b")?.dtype, "BF16");
    assert.deepEqual(values("b"), [1, 2]);
    assert.equal(byName.get("ids")?.dtype, "I64");
    assert.deepEqual(values("ids"), [1, 2, 3]);
    assert.deepEqual(values("p"), [0, 2, 4]);
    assert.deepEqual(byName.get("empty")?.shape, [0, 3]);
    assert.equal(byName.get("empty")?.data.length, 0);
  }

  test("f32/f16/bf16/i64 storages, offsets, strides, tied weights, parameters", async () => {
    await check(checkpoint("ok.bin", tensors, storages));
  });

  test("the top folder name does not matter; an OrderedDict root with _metadata state works", async () => {
    await check(checkpoint("ordered.bin", tensors, storages, { top: "some_model_name", ordered: true }));
  });

  test("ZIP64 records", async () => {
    await check(checkpoint("zip64.bin", tensors, storages, { zip64: true }));
  });

  test("compressed entries are refused, not inflated (no zip bombs)", async () => {
    const file = checkpoint("deflate.bin", tensors, storages, { deflate: true });
    await assertWeightError(readTorchCheckpoint(file), { file, message: /is compressed \(method 8\); torch\.save stores entries uncompressed/ });
  });

  test("STACK_GLOBAL (protocol 4 style) is restricted the same way", async () => {
    const p = new PickleWriter().proto(4).emptyDict().str("x").stackGlobal("torch._utils", "_rebuild_tensor_v2").mark();
    p.mark().str("storage").stackGlobal("torch", "FloatStorage").str("0").str("cpu").int(2).tuple().binpersid();
    p.int(0).ints([2]).ints([1]).newFalse().stackGlobal("collections", "OrderedDict").emptyTuple().reduce().tuple().reduce();
    p.raw(Buffer.from([0x73])).stop();
    const file = writeFile(tmp.dir, "proto4.bin", torchZip(p.bytes(), { "0": f32Bytes([7, 8]) }));
    const [t] = await readTorchCheckpoint(file);
    assert.deepEqual(Array.from(t.data), [7, 8]);
  });

  test("crc32 matches the standard check value", () => {
    assert.equal(crc32(Buffer.from("123456789")), 0xcbf43926);
  });
});

describe("readTorchCheckpoint: malicious pickles are refused and nothing runs", () => {
  const marker = join(tmp.dir, "pwned");

  /** GLOBAL module.name, then REDUCE it with one string argument — the classic pickle exploit. */
  function exploit(module: string, name: string, viaStack = false): Buffer {
    const p = new PickleWriter().proto(2);
    if (viaStack) p.stackGlobal(module, name);
    else p.global(module, name);
    return p.put(0).str(`touch ${marker}`).tuple1().reduce().stop().bytes();
  }

  for (const [module, name] of [
    ["os", "system"],
    ["posix", "system"],
    ["builtins", "eval"],
    ["builtins", "exec"],
    ["subprocess", "Popen"],
    ["torch", "load"],
    ["torch._utils", "_rebuild_tensor"], // near-miss of an allowed name
  ]) {
    test(`global ${module}.${name}`, async () => {
      // the exact bytes a hand-written exploit would use: \x80\x02cos\nsystem\nq\x00X....
      const file = writeFile(tmp.dir, `evil-${module}-${name}.bin`, torchZip(exploit(module, name), {}));
      await assertWeightError(readTorchCheckpoint(file), {
        file,
        message: new RegExp(`refusing to load: data\\.pkl uses global ${module.replace(".", "\\.")}\\.${name}, which is not allowed`),
      });
      assert.equal(existsSync(marker), false, "the side effect did not happen");
    });
  }

  test("the same through STACK_GLOBAL", async () => {
    const file = writeFile(tmp.dir, "evil-stack.bin", torchZip(exploit("os", "system", true), {}));
    await assertWeightError(readTorchCheckpoint(file), { file, message: /global os\.system, which is not allowed/ });
    assert.equal(existsSync(marker), false);
  });

  test("the pickle bytes spelled out by hand", async () => {
    const cmd = `touch ${marker}`;
    const len = Buffer.alloc(4);
    len.writeUInt32LE(Buffer.byteLength(cmd));
    const bytes = Buffer.concat([Buffer.from("\x80\x02cos\nsystem\nq\x00X", "latin1"), len, Buffer.from(cmd), Buffer.from("\x85q\x01Rq\x02.", "latin1")]);
    const file = writeFile(tmp.dir, "evil-raw.bin", torchZip(bytes, {}));
    await assertWeightError(readTorchCheckpoint(file), { file, message: /refusing to load: data\.pkl uses global os\.system, which is not allowed/ });
    assert.equal(existsSync(marker), false);
  });

  test("an allowed global that is not callable (a storage type) is not called", async () => {
    const bytes = new PickleWriter().proto(2).global("torch", "FloatStorage").str("x").tuple1().reduce().stop().bytes();
    const file = writeFile(tmp.dir, "call-storage.bin", torchZip(bytes, {}));
    await assertWeightError(readTorchCheckpoint(file), { file, message: /calls torch\.FloatStorage, which is not allowed/ });
  });

  for (const [op, code] of [["INST", "i"], ["OBJ", "o"], ["NEWOBJ", "\x81"], ["PERSID", "P"]] as const) {
    test(`opcode ${op} (generic object construction) is refused`, async () => {
      const bytes = Buffer.from(`\x80\x02(${code}os\nsystem\n.`, "latin1");
      const file = writeFile(tmp.dir, `op-${op}.bin`, torchZip(bytes, {}));
      await assertWeightError(readTorchCheckpoint(file), { file, message: new RegExp(`opcode ${op} is not allowed`) });
    });
  }
});

describe("readTorchCheckpoint: truncated, corrupted or lying files", () => {
  const good = torchZip(stateDictPickle([{ name: "w", key: "0", numel: 4, shape: [2, 2] }]), { "0": f32Bytes([1, 2, 3, 4]) });

  test("truncated zip (end records cut off)", async () => {
    for (const cut of [good.length - 1, good.length - 30, Math.floor(good.length / 2), 10]) {
      const file = writeFile(tmp.dir, `trunc-${cut}.bin`, good.subarray(0, cut));
      await assertWeightError(readTorchCheckpoint(file), { file, message: /corrupt or truncated zip archive/ });
    }
  });

  test("empty file and non-zip files", async () => {
    const empty = writeFile(tmp.dir, "empty.bin", new Uint8Array(0));
    await assertWeightError(readTorchCheckpoint(empty), { file: empty, message: /0 bytes, too short for a zip archive/ });
    const legacy = writeFile(tmp.dir, "legacy.bin", Buffer.from("\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.", "latin1"));
    await assertWeightError(readTorchCheckpoint(legacy), { file: legacy, message: /legacy torch\.save format/ });
    const text = writeFile(tmp.dir, "text.bin", "version https://git-lfs.github.com/spec/v1\n");
    await assertWeightError(readTorchCheckpoint(text), { file: text, message: /not a zip archive/ });
  });

  test("zip without data.pkl", async () => {
    const file = writeFile(tmp.dir, "nopkl.bin", buildZip([{ name: "archive/version", data: Buffer.from("3\n") }, { name: "archive/data/0", data: f32Bytes([1]) }]));
    await assertWeightError(readTorchCheckpoint(file), { file, message: /no <folder>\/data\.pkl/ });
  });

  test("data.pkl failing its CRC", async () => {
    const bad = Buffer.from(good);
    const at = bad.indexOf("_rebuild_tensor_v2");
    bad[at] ^= 0x20;
    const file = writeFile(tmp.dir, "crc.bin", bad);
    await assertWeightError(readTorchCheckpoint(file), { file, message: /data\.pkl fails its CRC-32 check/ });
  });

  test("pickle without STOP, stack underflow, unknown memo, unknown opcode", async () => {
    const cases: [string, Buffer, RegExp][] = [
      ["nostop", Buffer.from("\x80\x02}q\x00", "latin1"), /pickle truncated/],
      ["underflow", Buffer.from("\x80\x02t.", "latin1"), /no MARK on the stack/],
      ["underflow2", Buffer.from("\x80\x02R.", "latin1"), /stack underflow/],
      ["memo", Buffer.from("\x80\x02h\x07.", "latin1"), /memo entry 7 was never stored/],
      ["opcode", Buffer.from("\x80\x02\xff.", "latin1"), /unsupported pickle opcode 0xff/],
      ["hugestr", Buffer.from("\x80\x02X\xff\xff\xff\x7f.", "latin1"), /needs 2147483647 more bytes/],
    ];
    for (const [name, bytes, message] of cases) {
      const file = writeFile(tmp.dir, `pkl-${name}.bin`, torchZip(bytes, {}));
      await assertWeightError(readTorchCheckpoint(file), { file, message });
    }
  });

  test("root is not a dict; an entry is not a tensor", async () => {
    const list = writeFile(tmp.dir, "list.bin", torchZip(Buffer.from("\x80\x02].", "latin1"), {}));
    await assertWeightError(readTorchCheckpoint(list), { file: list, message: /holds list\(0\), not a state dict/ });
    const nested = writeFile(tmp.dir, "nested.bin", torchZip(new PickleWriter().proto(2).emptyDict().str("epoch").int(3).raw("s").stop().bytes(), {}));
    await assertWeightError(readTorchCheckpoint(nested), { file: nested, tensor: "epoch", message: /not a tensor/ });
  });

  test("storage key that does not exist", async () => {
    const file = checkpoint("nokey.bin", [{ name: "w", key: "9", numel: 4, shape: [4] }], { "0": f32Bytes([1, 2, 3, 4]) });
    await assertWeightError(readTorchCheckpoint(file), { file, tensor: "w", message: /storage "9" is not in the archive/ });
  });

  test("storage too small for the shape, the offset or the stride", async () => {
    const s = { "0": f32Bytes([1, 2, 3, 4]) };
    const shape = checkpoint("small-shape.bin", [{ name: "w", key: "0", numel: 4, shape: [2, 3] }], s);
    await assertWeightError(readTorchCheckpoint(shape), { file: shape, tensor: "w", message: /6 elements, more than storage "0" holds \(4\)/ });
    const offset = checkpoint("small-offset.bin", [{ name: "w", key: "0", numel: 4, offset: 2, shape: [3] }], s);
    await assertWeightError(readTorchCheckpoint(offset), { file: offset, tensor: "w", message: /reach element 4, but storage "0" has 4/ });
    const stride = checkpoint("small-stride.bin", [{ name: "w", key: "0", numel: 4, shape: [2, 2], stride: [3, 1] }], s);
    await assertWeightError(readTorchCheckpoint(stride), { file: stride, tensor: "w", message: /stride \[3, 1\] at offset 0 reach element 4/ });
    const broadcast = checkpoint("broadcast.bin", [{ name: "w", key: "0", numel: 4, shape: [1000000, 1000000], stride: [0, 0] }], s);
    await assertWeightError(readTorchCheckpoint(broadcast), { file: broadcast, tensor: "w", message: /more than storage "0" holds/ });
  });

  test("storage entry shorter than its declared element count", async () => {
    const file = checkpoint("short-storage.bin", [{ name: "w", key: "0", numel: 8, shape: [2] }], { "0": f32Bytes([1, 2, 3]) });
    await assertWeightError(readTorchCheckpoint(file), { file, tensor: "w", message: /holds 12 bytes, less than its 8 × F32 = 32/ });
  });

  test("unsupported storage type and malformed persistent id", async () => {
    const file = checkpoint("qint.bin", [{ name: "w", storageType: "QInt8Storage", key: "0", numel: 1, shape: [1] }], { "0": f32Bytes([1]) });
    await assertWeightError(readTorchCheckpoint(file), { file, message: /global torch\.QInt8Storage, which is not allowed/ });
    const pid = writeFile(tmp.dir, "pid.bin", torchZip(new PickleWriter().proto(2).str("x").binpersid().stop().bytes(), {}));
    await assertWeightError(readTorchCheckpoint(pid), { file: pid, message: /unsupported persistent id/ });
  });

  test("big-endian byteorder is refused", async () => {
    const file = writeFile(
      tmp.dir,
      "big.bin",
      torchZip(stateDictPickle([{ name: "w", key: "0", numel: 1, shape: [1] }]), { "0": f32Bytes([1]) }, { extra: [{ name: "archive/byteorder", data: Buffer.from("big") }] }),
    );
    await assertWeightError(readTorchCheckpoint(file), { file, message: /big-endian; only little-endian/ });
  });

  test("random corruption never crashes: every failure is a WeightFileError", async () => {
    let seed = 99;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    for (let i = 0; i < 300; i++) {
      const bytes = Buffer.from(good);
      for (let k = 0; k < 1 + (i % 4); k++) bytes[Math.floor(rand() * bytes.length)] = Math.floor(rand() * 256);
      const file = writeFile(tmp.dir, "fuzz.bin", bytes);
      try {
        const tensors = await readTorchCheckpoint(file);
        for (const t of tensors) assert.equal(t.data.length, t.shape.reduce((a, b) => a * b, 1));
      } catch (err) {
        assert.equal((err as Error).name, "WeightFileError", (err as Error).stack);
      }
    }
  });
});

describe("pytorch_model.bin through loadWeights", () => {
  test("bert-micro-ner-random: every value equals Python's pickle + numpy reading", { skip: skipUnlessModel("bert-micro-ner-random") }, async (t) => {
    const dir = modelPath("bert-micro-ner-random");
    const started = performance.now();
    const store = await loadWeights(dir);
    t.diagnostic(`bert-micro-ner-random: ${store.size} tensors, ${(store.totalBytes / 1e6).toFixed(1)} MB in ${(performance.now() - started).toFixed(1)} ms`);
    assert.deepEqual(store.files, [join(dir, "pytorch_model.bin")]);
    assert.equal(store.totalBytes, 8228070);
    assert.equal(store.size, 39);
    assert.deepEqual(store.names().slice(0, 3), ["bert.embeddings.word_embeddings.weight", "bert.embeddings.position_embeddings.weight", "bert.embeddings.token_type_embeddings.weight"]);
    let numel = 0;
    for (const name of store.names()) {
      assert.equal(store.get(name)?.dtype, "F32");
      numel += store.get(name)!.float32().length;
    }
    assert.equal(numel, 2053961);
    // from a one-off script: python's zipfile + pickle.Unpickler (find_class / persistent_load mapped to numpy), not committed
    const expected: Record<string, { shape: number[]; at: [number, number][] }> = {
      "bert.embeddings.word_embeddings.weight": { shape: [30522, 64], at: [[0, -0.41998228430747986], [1, 0.07399697601795197], [2, -0.3800901174545288], [651136, -0.19978812336921692], [976711, -0.06137620657682419], [1953407, -0.3016023635864258]] },
      "bert.encoder.layer.1.output.LayerNorm.bias": { shape: [64], at: [[0, -0.06325382739305496], [1, -0.00330393947660923], [2, -0.01967264711856842], [21, 0.00939924269914627], [39, -0.17591774463653564], [63, -0.12931804358959198]] },
      "classifier.weight": { shape: [9, 64], at: [[0, 0.054957807064056396], [1, 0.10413289070129395], [2, -0.02399049885571003], [192, 0.12564703822135925], [295, 0.030812706798315048], [575, -0.41173678636550903]] },
      "classifier.bias": { shape: [9], at: [[0, -0.00017458730144426227], [1, -0.023135768249630928], [2, -0.05224154144525528], [3, 0.013762131333351135], [8, 0.1575755625963211]] },
    };
    for (const [name, { shape, at }] of Object.entries(expected)) {
      assert.deepEqual(store.get(name)?.shape, shape, name);
      for (const [i, v] of at) assert.equal(store.get(name)!.float32()[i], v, `${name}[${i}]`);
    }
    // sha256 over sorted names + float32 bytes, same recipe in python
    assert.equal(digestTensors(store.names().map((n) => store.get(n)!)), "d467ea9f18af6f61331a86a6b634c4de64bf6d041fe373f2f23c1a503a6cbec5");
  });

  test("sharded pytorch_model.bin.index.json", async () => {
    const dir = join(tmp.dir, "bin-sharded");
    mkdirSync(dir);
    writeFile(dir, "pytorch_model-00001-of-00002.bin", torchZip(stateDictPickle([{ name: "a", key: "0", numel: 2, shape: [2] }]), { "0": f32Bytes([1, 2]) }));
    writeFile(dir, "pytorch_model-00002-of-00002.bin", torchZip(stateDictPickle([{ name: "b", key: "0", numel: 1, shape: [1] }]), { "0": f32Bytes([3]) }, { top: "other" }));
    writeFile(dir, "pytorch_model.bin.index.json", JSON.stringify({ weight_map: { a: "pytorch_model-00001-of-00002.bin", b: "pytorch_model-00002-of-00002.bin" } }));
    const store = await loadWeights(dir);
    assert.deepEqual(store.names().sort(), ["a", "b"]);
    assert.deepEqual(Array.from(store.get("a")!.float32()), [1, 2]);
    assert.deepEqual(Array.from(store.get("b")!.float32()), [3]);
    assert.equal(store.files.length, 2);
  });
});
