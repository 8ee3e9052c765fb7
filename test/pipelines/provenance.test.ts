/** Provenance: weights sha256 (from an HF cache blob name, else hashed once and cached), and what embed() reports. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { appendFileSync, copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { fileSha256 } from "../../src/io/file-digest.js";
import { SentenceEncoder } from "../../src/pipelines/sentence-encoder.js";
import { loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";
import { loadNativeAddon } from "../../src/backend/native.js";

const MINILM = "minilm-l6-h384-random";
const sha = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

describe("provenance", () => {
  it("hashes a file once, caches it by path + size + mtime, and rehashes an edited file", async () => {
    const cache = mkdtempSync(join(tmpdir(), "bert-ts-cache-"));
    const saved = process.env.BERT_TS_CACHE;
    process.env.BERT_TS_CACHE = cache;
    try {
      const file = join(mkdtempSync(join(tmpdir(), "bert-ts-digest-")), "weights.bin");
      writeFileSync(file, "some weights");
      assert.equal(await fileSha256(file), sha(Buffer.from("some weights")));
      const entries = readdirSync(join(cache, "sha256"));
      assert.equal(entries.length, 1);
      // The cached entry is what a second call returns (a planted value proves the file is not reread).
      writeFileSync(join(cache, "sha256", entries[0]), "f".repeat(64) + "\n");
      assert.equal(await fileSha256(file), "f".repeat(64));
      appendFileSync(file, "!");
      assert.equal(await fileSha256(file), sha(Buffer.from("some weights!")), "a changed size is a new cache key");
    } finally {
      if (saved === undefined) delete process.env.BERT_TS_CACHE;
      else process.env.BERT_TS_CACHE = saved;
    }
  });

  it("reads the sha256 of a Hugging Face cache file from its blob name", async () => {
    const repo = mkdtempSync(join(tmpdir(), "bert-ts-hfcache-"));
    const blob = "0123456789abcdef".repeat(4);
    mkdirSync(join(repo, "blobs"));
    mkdirSync(join(repo, "snapshots", "c0ffee"), { recursive: true });
    writeFileSync(join(repo, "blobs", blob), "not what the name says: the name is the hub's etag");
    symlinkSync(join("..", "..", "blobs", blob), join(repo, "snapshots", "c0ffee", "model.safetensors"));
    assert.equal(await fileSha256(join(repo, "snapshots", "c0ffee", "model.safetensors")), blob);
  });

  it("SentenceEncoder.provenance() names the weights, architecture, pooling and per-call settings", { skip: skipUnlessModel(MINILM) || skipUnlessGolden(`${MINILM}.json`) }, async () => {
    const encoder = await SentenceEncoder.load(modelPath(MINILM));
    const p = await encoder.provenance();
    assert.equal(p.weights_sha256, sha(readFileSync(join(modelPath(MINILM), "model.safetensors"))));
    const golden = loadGolden(`${MINILM}.json`).meta;
    assert.equal(p.architecture, golden.config.architectures?.[0] ?? "BertModel");
    assert.equal(p.model, encoder.modelDir);
    assert.deepEqual([p.pooling, p.layers, p.normalize, p.dimensions, p.dtype], ["mean", "last", true, undefined, "float32"]);
    assert.match(p.kernels, /^(native|reference)/);
    assert.equal(p.bert_ts, JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")).version);
    const q = await encoder.provenance({ pooling: "cls", normalize: false, dimensions: 64 });
    assert.deepEqual([q.pooling, q.normalize, q.dimensions], ["cls", false, 64]);
    // A sharded copy: the sha256 of the shard listing.
    const dir = mkdtempSync(join(tmpdir(), "bert-ts-shards-"));
    for (const f of ["config.json", "vocab.txt", "tokenizer.json", "tokenizer_config.json", "special_tokens_map.json"]) copyFileSync(join(modelPath(MINILM), f), join(dir, f));
    copyFileSync(join(modelPath(MINILM), "model.safetensors"), join(dir, "model-00001-of-00001.safetensors"));
    writeFileSync(join(dir, "model.safetensors.index.json"), JSON.stringify({ weight_map: { "embeddings.word_embeddings.weight": "model-00001-of-00001.safetensors" } }));
    const { findWeightFiles } = await import("../../src/io/weights.js");
    assert.deepEqual(await findWeightFiles(dir), { files: [join(dir, "model-00001-of-00001.safetensors")], sharded: true });
    const { modelProvenance } = await import("../../src/pipelines/provenance.js");
    const sharded = await modelProvenance({ dir, source: "path" }, encoder.model);
    assert.equal(sharded.weights_sha256, createHash("sha256").update(`${p.weights_sha256}  model-00001-of-00001.safetensors\n`).digest("hex"));
  });

  it("records the dtype the linear layers ran in (int8, bf16) and the kernels", { skip: skipUnlessModel(MINILM) || (loadNativeAddon().addon ? false : "native addon not built") }, async () => {
    for (const dtype of ["int8", "bf16"] as const) {
      const encoder = await SentenceEncoder.load(modelPath(MINILM), { dtype });
      const p = await encoder.provenance();
      assert.equal(p.dtype, dtype);
      assert.match(p.kernels, new RegExp(`^native .*${dtype}`));
    }
  });
});
