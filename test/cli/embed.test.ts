/** `bert-ts embed` as a user runs it: a spawned process, real files, stdin; vectors checked against PyTorch. */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { assertClose } from "../helpers/assert.js";
import { REPO_ROOT, loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const BIN = join(REPO_ROOT, "bin", "bert-ts.js");
const MINILM = "minilm-l6-h384-random";
const SEQCLS = "bert-micro-seqcls-random";

function run(args: string[], input?: string) {
  return spawnSync(process.execPath, [BIN, ...args], { input, encoding: "utf8", env: { ...process.env, BERT_TS_BACKEND: "" } });
}

describe("bert-ts embed", { skip: skipUnlessModel(MINILM) || skipUnlessGolden(`${MINILM}.json`) }, () => {
  const g = () => loadGolden(`${MINILM}.json`);
  const texts = () => g().inputs.filter((x: any) => typeof x.input === "string" && x.num_tokens_untruncated < 200 && !x.input.includes("\n") && x.input.trim());

  it("embeds stdin lines with the model's default pooling (mean + normalise) as JSONL", () => {
    const inputs = texts();
    const res = run(["embed", "--model", modelPath(MINILM)], inputs.map((x: any) => x.input).join("\n") + "\n");
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stderr, /RANDOM weights/);
    const lines = res.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines.length, inputs.length);
    lines.forEach((l: any, i: number) => {
      assert.equal(l.text, inputs[i].input);
      assertClose(l.embedding, inputs[i].outputs.base.pooled.mean_l2_normalized, 1e-4, `line ${i}`);
    });
  });

  it("takes --pooling, argument texts, a .jsonl/.csv --input and writes .npy", () => {
    const dir = mkdtempSync(join(tmpdir(), "bert-ts-embed-"));
    const inp = texts()[1];
    const cls = run(["embed", "--model", modelPath(MINILM), "--pooling", "cls", "--format", "jsonl", inp.input]);
    assert.equal(cls.status, 0, cls.stderr);
    assertClose(JSON.parse(cls.stdout).embedding, inp.outputs.base.pooled.cls_l2_normalized, 1e-4, "cls keeps the model's Normalize");
    const notes = cls.stderr.split("\n").filter((l) => l.includes("differs from the model's own"));
    assert.deepEqual(notes, ["bert-ts: note: pooling cls differs from the model's own mean + L2 normalise (sentence-transformers modules.json: Pooling(mean) → Normalize)"], "said once, even when piped");
    const raw = run(["embed", "--model", modelPath(MINILM), "--pooling", "cls", "--no-normalize", "--format", "jsonl", inp.input]);
    assertClose(JSON.parse(raw.stdout).embedding, inp.outputs.base.pooled.cls, 1e-4, "cls --no-normalize");
    assert.match(raw.stderr, /pooling cls differs from the model's own mean \+ L2 normalise .*; not normalising \(--no-normalize\)/);
    const own = run(["embed", "--model", modelPath(MINILM), "--format", "jsonl", inp.input]);
    assert.doesNotMatch(own.stderr, /differs from the model's own/, "no note with the model's own pooling");

    writeFileSync(join(dir, "in.csv"), `id,sentence\n1,"${inp.input.replace(/"/g, '""')}"\n`);
    const npy = join(dir, "out.npy");
    const res = run(["embed", "--model", modelPath(MINILM), "--input", join(dir, "in.csv"), "--field", "sentence", "--output", npy]);
    assert.equal(res.status, 0, res.stderr);
    const bytes = readFileSync(npy);
    assert.equal(bytes.subarray(0, 6).toString("latin1"), "\x93NUMPY");
    const headerLen = bytes.readUInt16LE(8);
    assert.match(bytes.subarray(10, 10 + headerLen).toString("latin1"), /'shape': \(1, 384\)/);
    assert.equal((10 + headerLen) % 64, 0);
    const v = new Float32Array(bytes.buffer.slice(bytes.byteOffset + 10 + headerLen, bytes.byteOffset + bytes.length));
    assertClose(v, inp.outputs.base.pooled.mean_l2_normalized, 1e-4, "npy");

    const none = run(["embed", "--model", modelPath(MINILM), "--pooling", "none", "--format", "jsonl", inp.input]);
    const tok = JSON.parse(none.stdout);
    assert.deepEqual(tok.tokens, inp.tokens);
    assertClose(tok.embedding.flat(), inp.outputs.base.last_hidden_state, 1e-4, "token vectors");
  });

  it("uses the pooler when asked and fails clearly on a bad pooling name or missing model", () => {
    const inp = texts()[0];
    const res = run(["embed", "--model", modelPath(MINILM), "--pooling", "pooler", "--no-normalize", "--format", "jsonl", inp.input]);
    assertClose(JSON.parse(res.stdout).embedding, inp.outputs.base.pooler_output, 1e-4, "pooler");
    const bad = run(["embed", "--model", modelPath(MINILM), "--pooling", "avg", "x"]);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /Unknown pooling "avg"/);
    const missing = run(["embed", "--model", "/nonexistent/model", "x"]);
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /nonexistent/);
  });
});

describe("bert-ts embed: pairs and --dimensions", { skip: skipUnlessModel(MINILM) || skipUnlessGolden(`${MINILM}.json`) }, () => {
  it("embeds [a, b] lines of a .jsonl and --pair as one encoded pair", () => {
    const pairs = loadGolden(`${MINILM}.json`).inputs.filter((x: any) => x.is_pair && !x.truncated);
    const dir = mkdtempSync(join(tmpdir(), "bert-ts-embed-pairs-"));
    const file = join(dir, "pairs.jsonl");
    writeFileSync(file, pairs.map((x: any) => JSON.stringify(x.input)).join("\n") + "\n");
    const res = run(["embed", "--model", modelPath(MINILM), "--input", file, "--format", "jsonl"]);
    assert.equal(res.status, 0, res.stderr);
    const lines = res.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines.length, pairs.length);
    lines.forEach((l: any, i: number) => {
      assert.deepEqual([l.text, l.text_pair], pairs[i].input);
      assertClose(l.embedding, pairs[i].outputs.base.pooled.mean_l2_normalized, 1e-4, `pair ${i}`);
    });
    const [a, b] = pairs[0].input;
    const flag = run(["embed", "--model", modelPath(MINILM), "--pair", b, "--pooling", "max", "--no-normalize", "--format", "jsonl", a]);
    assert.equal(flag.status, 0, flag.stderr);
    assertClose(JSON.parse(flag.stdout).embedding, pairs[0].outputs.base.pooled.max, 1e-4, "--pair with max pooling");
  });

  it("--stride sets the overlap of chunk windows", async () => {
    const long = loadGolden(`${MINILM}.json`).inputs.find((x: any) => typeof x.input === "string" && x.num_tokens_untruncated > 512).input as string;
    const res = run(["embed", "--model", modelPath(MINILM), "--long-inputs", "chunk", "--max-length", "64", "--stride", "8", "--format", "jsonl", long]);
    assert.equal(res.status, 0, res.stderr);
    // The library's chunk mode is checked against hand-averaged windows in test/pipelines; here the flag must reach it.
    const { SentenceEncoder } = await import("../../src/pipelines/sentence-encoder.js");
    const encoder = await SentenceEncoder.load(modelPath(MINILM), { maxLength: 64 });
    const [stride8, stride16] = await Promise.all([8, 16].map((chunkStride) => encoder.embed(long, { longInputs: "chunk", chunkStride })));
    const got = JSON.parse(res.stdout).embedding as number[];
    assertClose(got, stride8, 1e-6, "--stride 8");
    assert.ok(got.some((x, i) => Math.abs(x - stride16[i]) > 1e-4), "another stride gives another vector");
    const alone = run(["embed", "--model", modelPath(MINILM), "--stride", "8", "x"]);
    assert.notEqual(alone.status, 0);
    assert.match(alone.stderr, /--stride sets the overlap of --long-inputs chunk windows/);
  });

  it("--dimensions keeps the first n components, then normalises", () => {
    const inp = loadGolden(`${MINILM}.json`).inputs[1];
    const res = run(["embed", "--model", modelPath(MINILM), "--dimensions", "48", "--format", "jsonl", inp.input]);
    assert.equal(res.status, 0, res.stderr);
    const head = inp.outputs.base.pooled.mean.slice(0, 48) as number[];
    assertClose(JSON.parse(res.stdout).embedding, head.map((x) => x / Math.hypot(...head)), 1e-4, "dimensions 48");
    const bad = run(["embed", "--model", modelPath(MINILM), "--dimensions", "400", "x"]);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /dimensions between 1 and the model's 384 but received 400/);
  });
});

describe("bert-ts embed --provenance", { skip: skipUnlessModel(MINILM) || skipUnlessGolden(`${MINILM}.json`) }, () => {
  it("adds a provenance object to each JSONL line, and the constant part once at the top of --format json", () => {
    const g = loadGolden(`${MINILM}.json`).inputs;
    const short = g[1];
    const long = g.find((x: any) => typeof x.input === "string" && x.num_tokens_untruncated > 300);
    const dir = mkdtempSync(join(tmpdir(), "bert-ts-prov-"));
    const file = join(dir, "in.jsonl");
    writeFileSync(file, [short.input, long.input].map((t) => JSON.stringify(t)).join("\n") + "\n");
    const sha = createHash("sha256").update(readFileSync(join(modelPath(MINILM), "model.safetensors"))).digest("hex");
    const res = run(["embed", "--model", modelPath(MINILM), "--input", file, "--provenance", "--format", "jsonl"]);
    assert.equal(res.status, 0, res.stderr);
    const [a, b] = res.stdout.trim().split("\n").map((l) => JSON.parse(l));
    const version = JSON.parse(readFileSync(join(REPO_ROOT, "package.json"), "utf8")).version;
    const constant = { model: modelPath(MINILM), weights_sha256: sha, architecture: "BertModel", dtype: "float32", bert_ts: version, pooling: "mean", layers: "last", normalize: true };
    assert.deepEqual({ ...a.provenance, kernels: undefined }, { ...constant, kernels: undefined, tokens: short.num_tokens_untruncated, truncated: false });
    assert.deepEqual({ ...b.provenance, kernels: undefined }, { ...constant, kernels: undefined, tokens: long.num_tokens_untruncated, truncated: true }, "over the model's 256 tokens");
    const chunked = JSON.parse(run(["embed", "--model", modelPath(MINILM), "--long-inputs", "chunk", "--provenance", "--format", "jsonl", long.input]).stdout);
    // 256-token windows sharing 64: 254 pieces a window, a step of 190.
    assert.equal(chunked.provenance.windows, Math.ceil((long.num_tokens_untruncated - 2 - 254) / 190) + 1);
    const json = JSON.parse(run(["embed", "--model", modelPath(MINILM), "--input", file, "--provenance", "--format", "json"]).stdout);
    assert.deepEqual({ ...json.provenance, kernels: undefined }, { ...constant, kernels: undefined });
    assert.deepEqual(json.data.map((r: any) => r.provenance), [{ tokens: short.num_tokens_untruncated, truncated: false }, { tokens: long.num_tokens_untruncated, truncated: true }]);
    const int8 = JSON.parse(run(["embed", "--model", modelPath(MINILM), "--dtype", "int8", "--provenance", "--format", "jsonl", short.input]).stdout);
    assert.equal(int8.provenance.dtype, "int8", "--dtype is recorded with the vector");
    const csv = run(["embed", "--model", modelPath(MINILM), "--provenance", "--format", "csv", "x"]);
    assert.notEqual(csv.status, 0);
    assert.match(csv.stderr, /--provenance is written with --format jsonl or json, not csv/);
  });
});

describe("bert-ts embed on a classifier checkpoint", { skip: skipUnlessModel(SEQCLS) || skipUnlessGolden(`${SEQCLS}.json`) }, () => {
  it("defaults to the trained pooler (no sentence-transformers files) and reports truncation", () => {
    const inp = loadGolden(`${SEQCLS}.json`).inputs[0];
    const res = run(["embed", "--model", modelPath(SEQCLS), "--format", "jsonl", inp.input]);
    assert.equal(res.status, 0, res.stderr);
    assertClose(JSON.parse(res.stdout).embedding, inp.outputs.base.pooler_output, 1e-4, "pooler default");
    const long = run(["embed", "--model", modelPath(SEQCLS), "--max-length", "4", "--format", "jsonl", "one two three four five"]);
    assert.equal(long.status, 0, long.stderr);
    assert.match(long.stderr, /1 text\(s\) were longer than 4 tokens and were truncated/);
  });
});
