/**
 * The packed-weight cache (int8, bf16 and float32): a second load takes every layer from the file
 * instead of packing again, with the same bits out, and float32 still matches PyTorch; a corrupt or
 * truncated file is detected and rewritten. Counts layers (what the load did), never milliseconds.
 */
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { describe, it } from "node:test";
import { loadNativeAddon } from "../../src/backend/native.js";
import { lastPackedCacheOutcome, packedCachePath } from "../../src/io/packed-weight-cache.js";
import { BertModel } from "../../src/models/bert/model.js";
import { loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";
import { suiteEnvironment } from "../helpers/environment.js";

const MINILM = "minilm-l6-h384-random";
const hasCacheApi = () => {
  const { addon } = loadNativeAddon();
  return addon !== undefined && typeof addon.importPackedFile === "function";
};
const skip = skipUnlessModel(MINILM) || skipUnlessGolden(`${MINILM}.json`) || (hasCacheApi() ? false : "native addon not built");

describe("packed-weight cache: where", () => {
  it("uses the Hugging Face cache's bert-ts subfolder for a snapshot, the bert-ts cache folder otherwise, and can be turned off", () => {
    const saved = { ...process.env };
    try {
      delete process.env.BERT_TS_PACKED_CACHE;
      process.env.BERT_TS_CACHE = "/tmp/bt-cache";
      const sha = "ab".repeat(32);
      assert.equal(packedCachePath("/home/u/.cache/huggingface/hub/models--org--m/snapshots/c0ffee", sha, "int8-avx512-x-v1"), `/home/u/.cache/huggingface/hub/bert-ts/packed/${sha}.int8-avx512-x-v1.f2.bin`);
      assert.equal(packedCachePath("/data/models/m", sha, "int8 a/b"), `/tmp/bt-cache/packed/${sha}.int8_a_b.f2.bin`);
      process.env.BERT_TS_PACKED_CACHE = "/elsewhere";
      assert.equal(packedCachePath("/data/models/m", sha, "bf16-avx2-y-v1"), `/elsewhere/${sha}.bf16-avx2-y-v1.f2.bin`);
      process.env.BERT_TS_PACKED_CACHE = "0";
      assert.equal(packedCachePath("/data/models/m", sha, "bf16-avx2-y-v1"), undefined);
    } finally {
      process.env = saved;
    }
  });
});

describe("packed-weight cache: int8 loads", { skip }, () => {
  suiteEnvironment(() => ({ BERT_TS_CACHE: mkdtempSync(join(tmpdir(), "bert-ts-packed-")), BERT_TS_PACKED_CACHE: undefined }));

  const inputs = () =>
    loadGolden(`${MINILM}.json`)
      .inputs.filter((x: any) => typeof x.input === "string")
      .slice(0, 4)
      .map((x: any) => ({ inputIds: x.input_ids as number[], tokenTypeIds: x.token_type_ids as number[] }));
  const hidden = async () => (await BertModel.fromPretrained(modelPath(MINILM), { dtype: "int8" })).forward(inputs()).hidden;

  it("quantises on the first load, takes every layer from the file on the second, with the same bits", async () => {
    const first = await hidden();
    const created = lastPackedCacheOutcome!;
    assert.equal(created.status, "created");
    // 6 layers x (QKV, attention output, FFN up, FFN down) + the pooler.
    assert.equal(created.packed, 25);
    assert.equal(created.reused, 0);
    assert.ok(created.path && existsSync(created.path), "the cache file exists");
    assert.deepEqual(readdirSync(dirname(created.path!)).filter((f) => f.endsWith(".tmp")), [], "no temporary file is left");
    const second = await hidden();
    assert.deepEqual({ ...lastPackedCacheOutcome }, { path: created.path, status: "hit", reused: 25, packed: 0 });
    assert.deepEqual(Buffer.from(second.buffer, second.byteOffset, second.byteLength), Buffer.from(first.buffer, first.byteOffset, first.byteLength));
  });

  it("detects a corrupt or truncated file, quantises again and rewrites it", async () => {
    const want = await hidden();
    const path = lastPackedCacheOutcome!.path!;
    const good = readFileSync(path);
    for (const damage of ["flipped byte", "truncated"] as const) {
      const bad = Buffer.from(good);
      if (damage === "flipped byte") bad[Math.floor(bad.length / 2)] ^= 0x40;
      writeFileSync(path, damage === "truncated" ? bad.subarray(0, bad.length - 1000) : bad);
      const got = await hidden();
      assert.equal(lastPackedCacheOutcome!.status, "rebuilt-corrupt", damage);
      assert.equal(lastPackedCacheOutcome!.packed, 25, damage);
      assert.deepEqual(Buffer.from(got.buffer, got.byteOffset, got.byteLength), Buffer.from(want.buffer, want.byteOffset, want.byteLength), damage);
      assert.ok(readFileSync(path).equals(good), `${damage}: the rewritten file equals the first one`);
      await hidden();
      assert.equal(lastPackedCacheOutcome!.status, "hit", `${damage}: the next load uses the rewritten file`);
    }
  });

  it("keeps bf16 and float32 in files of their own (the layout is part of the key)", async () => {
    const int8Path = (await hidden(), lastPackedCacheOutcome!.path);
    await BertModel.fromPretrained(modelPath(MINILM), { dtype: "bf16" });
    const bf16Path = lastPackedCacheOutcome!.path;
    assert.notEqual(bf16Path, int8Path);
    assert.match(bf16Path!, /\.bf16-/);
    await BertModel.fromPretrained(modelPath(MINILM), { dtype: "float32" }); // first sight
    await BertModel.fromPretrained(modelPath(MINILM), { dtype: "float32" });
    assert.match(lastPackedCacheOutcome!.path!, /\.float32-/);
    assert.ok(![int8Path, bf16Path].includes(lastPackedCacheOutcome!.path));
  });
});

describe("packed-weight cache: float32 loads", { skip }, () => {
  suiteEnvironment(() => ({ BERT_TS_CACHE: mkdtempSync(join(tmpdir(), "bert-ts-packed-f32-")), BERT_TS_PACKED_CACHE: undefined }));

  it("takes every layer from the file on the second load and still matches PyTorch's hidden states (1e-4)", async () => {
    const golden = loadGolden(`${MINILM}.json`).inputs.filter((x: any) => typeof x.input === "string").slice(0, 4);
    const inputs = golden.map((x: any) => ({ inputIds: x.input_ids as number[], tokenTypeIds: x.token_type_ids as number[] }));
    const run = async () => (await BertModel.fromPretrained(modelPath(MINILM), { dtype: "float32" })).forward(inputs).hidden;
    // A float32 checkpoint is cached from its second load on: the first only notes it.
    const first = await run();
    assert.deepEqual({ ...lastPackedCacheOutcome }, { status: "first-sight", reused: 0, packed: 0 });
    await run();
    assert.equal(lastPackedCacheOutcome!.status, "created");
    assert.equal(lastPackedCacheOutcome!.packed, 25);
    const second = await run();
    assert.equal(lastPackedCacheOutcome!.status, "hit");
    assert.equal(lastPackedCacheOutcome!.reused, 25);
    assert.equal(lastPackedCacheOutcome!.packed, 0);
    assert.deepEqual(Buffer.from(second.buffer, second.byteOffset, second.byteLength), Buffer.from(first.buffer, first.byteOffset, first.byteLength));
    // Against the reference (not only against the first load): the cached layers are the right ones.
    const h = 384;
    let row = 0;
    let worst = 0;
    for (const g of golden) {
      const want = (g.outputs.base.last_hidden_state as number[][]).flat();
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(second[row * h + i] - want[i]));
      row += g.input_ids.length;
    }
    assert.ok(worst <= 1e-4, `max |diff| vs PyTorch ${worst}`);
  });

  it("gives the same bits whether the file is mapped from the page cache or read into memory of its own", async () => {
    const inputs = [{ inputIds: [101, 7592, 2088, 102] }, { inputIds: [101, 2023, 2003, 1037, 3231, 102] }];
    const run = async () => {
      const out = (await BertModel.fromPretrained(modelPath(MINILM), { dtype: "float32" })).forward(inputs).hidden;
      assert.equal(lastPackedCacheOutcome!.status, "hit");
      assert.equal(lastPackedCacheOutcome!.reused, 25);
      return Buffer.from(out.buffer, out.byteOffset, out.byteLength);
    };
    // Mapped from the page cache where the kernel holds the file in 2 MB folios (dropped and read
    // again, once, where it held small ones), else read: the same bits either way. A copy made by
    // cp(1) is cached in small folios on Linux 6.x: its first load takes the drop-and-read path.
    await run();
    const path = lastPackedCacheOutcome!.path!;
    execFileSync("cp", [path, `${path}.copy`]);
    renameSync(`${path}.copy`, path);
    const mapped = await run();
    assert.deepEqual(await run(), mapped);
    const saved = process.env.BERT_TS_PACKED_FILE;
    process.env.BERT_TS_PACKED_FILE = "read";
    try {
      assert.deepEqual(await run(), mapped);
    } finally {
      if (saved === undefined) delete process.env.BERT_TS_PACKED_FILE;
      else process.env.BERT_TS_PACKED_FILE = saved;
    }
  });

  it("retries the page-cache remap after a failed attempt (an older build's \"no\" counts as one) and stops after three", async (t) => {
    // The attribute records the remap's outcome (native/src/napi/packed_file.cc). Read and set with
    // Python's os.*xattr: Node has no xattr API. Where the file system or kernel has no user
    // attributes or transparent huge pages, loads never touch it.
    await BertModel.fromPretrained(modelPath(MINILM), { dtype: "float32" });
    const path = lastPackedCacheOutcome!.path!;
    const xattr = (op: "get" | "set", value = "") =>
      execFileSync("python3", ["-c", `import os,sys\nn='user.bert-ts.refolio'\nif sys.argv[2]=='set': os.setxattr(sys.argv[1],n,sys.argv[3].encode())\nelse: print(os.getxattr(sys.argv[1],n).decode() if n in os.listxattr(sys.argv[1]) else '')`, path, op, value], { encoding: "utf8" }).trim();
    const thp = (() => {
      try {
        return /\[(always|madvise)\]/.test(readFileSync("/sys/kernel/mm/transparent_hugepage/enabled", "utf8"));
      } catch {
        return false;
      }
    })();
    try {
      xattr("set", "ok");
    } catch {
      t.skip("no user extended attributes on this file system");
      return;
    }
    if (process.platform !== "linux" || !thp) {
      t.skip("no transparent huge pages: the file is never remapped");
      return;
    }
    // A fresh copy renamed into place: its pages are dirty, in small folios.
    const copyIntoPlace = (attribute: string) => {
      execFileSync("cp", [path, `${path}.copy`]);
      renameSync(`${path}.copy`, path);
      xattr("set", attribute);
    };
    // Whether this process maps the file (its current inode) in 2 MB pages: the page-cache path.
    const mappedWhole = () => {
      let kb = 0;
      let inFile = false;
      for (const line of readFileSync("/proc/self/smaps", "utf8").split("\n")) {
        if (/^[0-9a-f]+-[0-9a-f]+ /.test(line)) inFile = line.endsWith(` ${path}`);
        else if (inFile && line.startsWith("FilePmdMapped:")) kb += Number(line.split(/\s+/)[1]);
      }
      return kb > 0;
    };
    copyIntoPlace("no");
    const model = await BertModel.fromPretrained(modelPath(MINILM), { dtype: "float32" });
    const afterNo = xattr("get");
    // Mapped whole: straight away (the copy was cached in 2 MB folios already; the attribute is not
    // read) or after the drop and remap ("ok"). Otherwise the load must have tried once more: "n2".
    if (!mappedWhole()) assert.equal(afterNo, "n2", `after an older build's "no", one more attempt was due (not mapped, attribute ${afterNo})`);
    else assert.ok(afterNo === "ok" || afterNo === "no", `mapped: ${afterNo}`);
    void model; // held until here: the mapping mappedWhole() reads belongs to it
    copyIntoPlace("n3");
    await BertModel.fromPretrained(modelPath(MINILM), { dtype: "float32" });
    assert.equal(xattr("get"), "n3", "three failed attempts: no further attempt");
    assert.equal(lastPackedCacheOutcome!.status, "hit", "the file is still used (read instead of mapped)");
  });

  it("rebuilds a file written for another layout (a stale key inside the file)", async () => {
    await BertModel.fromPretrained(modelPath(MINILM)); // seen by the test above: a hit
    const path = lastPackedCacheOutcome!.path!;
    const good = readFileSync(path);
    // Same length, another layout name in the header (checked before the checksum, so this is "stale", not "corrupt").
    const text = good.toString("latin1").replace(/"layout":"float32-/, '"layout":"float32_');
    const bad = Buffer.from(text, "latin1");
    writeFileSync(path, bad);
    await BertModel.fromPretrained(modelPath(MINILM));
    assert.notEqual(lastPackedCacheOutcome!.status, "hit");
    assert.equal(lastPackedCacheOutcome!.packed, 25);
    assert.ok(readFileSync(path).equals(good), "the rewritten file equals the first one");
  });
});

describe("packed-weight cache: a file that stops matching part-way", { skip }, () => {
  suiteEnvironment(() => ({ BERT_TS_CACHE: mkdtempSync(join(tmpdir(), "bert-ts-packed-part-")), BERT_TS_PACKED_CACHE: undefined }));

  it("takes the layers before the first one it cannot use, reads the checkpoint's weights for the rest, and still matches PyTorch", async () => {
    const golden = loadGolden(`${MINILM}.json`).inputs.filter((x: any) => typeof x.input === "string").slice(0, 3);
    const inputs = golden.map((x: any) => ({ inputIds: x.input_ids as number[], tokenTypeIds: x.token_type_ids as number[] }));
    await BertModel.fromPretrained(modelPath(MINILM)); // first sight
    await BertModel.fromPretrained(modelPath(MINILM)); // writes the file
    const path = lastPackedCacheOutcome!.path!;
    // A well-formed file (valid checksum) whose third layer's own header names another shape: the
    // load uses layers 1-2 from it (their weights never read), then must read the checkpoint for
    // every later layer — the weights a deferred read handed out unread.
    const file = Buffer.from(readFileSync(path));
    const headerLength = file.readUInt32LE(8);
    const layers = JSON.parse(file.toString("utf8", 12, 12 + headerLength)).layers as { bytes: number }[];
    let at = 12 + headerLength;
    const offsets = layers.map((l) => {
      at = Math.ceil(at / 64) * 64;
      const o = at;
      at += l.bytes;
      return o;
    });
    file.writeInt32LE(file.readInt32LE(offsets[2] + 16) + 1, offsets[2] + 16); // n (out features) of layer 3
    const { addon } = loadNativeAddon();
    file.writeBigUInt64LE(addon!.xxh64!(new Uint8Array(file.buffer, file.byteOffset, file.length - 8)), file.length - 8);
    writeFileSync(path, file);
    const model = await BertModel.fromPretrained(modelPath(MINILM));
    assert.equal(lastPackedCacheOutcome!.status, "rebuilt-stale");
    assert.equal(lastPackedCacheOutcome!.reused, 2);
    assert.equal(lastPackedCacheOutcome!.packed, 23);
    const hidden = model.forward(inputs).hidden;
    let row = 0;
    let worst = 0;
    for (const g of golden) {
      const want = (g.outputs.base.last_hidden_state as number[][]).flat();
      for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(hidden[row * 384 + i] - want[i]));
      row += g.input_ids.length;
    }
    assert.ok(worst <= 1e-4, `max |diff| vs PyTorch ${worst}`);
    await BertModel.fromPretrained(modelPath(MINILM));
    assert.equal(lastPackedCacheOutcome!.status, "hit", "the rewritten file is whole again");
  });
});

describe("packed-weight cache: the checksum is xxHash64", { skip }, () => {
  it("gives xxHash's published values", () => {
    const { addon } = loadNativeAddon();
    const h = (s: string) => addon!.xxh64!(new Uint8Array(Buffer.from(s, "latin1")));
    // From the xxHash reference implementation's sanity checks (XXH64, seed 0).
    assert.equal(h(""), 0xef46db3751d8e999n);
    assert.equal(h("abc"), 0x44bc2cf5ad770999n);
  });
});
