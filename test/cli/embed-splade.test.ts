/** `bert-ts embed --pooling splade` as a user runs it: JSONL indices/values checked against PyTorch's SPLADE vectors. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { assertClose } from "../helpers/assert.js";
import { REPO_ROOT, loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const BIN = join(REPO_ROOT, "bin", "bert-ts.js");
const SPLADE = "bert-micro-splade-random";

function run(args: string[], input?: string) {
  return spawnSync(process.execPath, [BIN, ...args], { input, encoding: "utf8", maxBuffer: 64 << 20 });
}
const lines = (stdout: string) => stdout.trim().split("\n").map((l) => JSON.parse(l));

function dense(indices: number[], values: number[]): Float32Array {
  const out = new Float32Array(30522);
  indices.forEach((id, k) => (out[id] = values[k]));
  return out;
}

describe("bert-ts embed --pooling splade", { skip: skipUnlessModel(SPLADE) || skipUnlessGolden(`${SPLADE}.json`) }, () => {
  const singles = () => (loadGolden(`${SPLADE}.json`).inputs as any[]).filter((x) => typeof x.input === "string");

  it("writes one JSONL line per text with ascending indices and their values, as PyTorch; truncation reported", () => {
    const inputs = singles();
    const file = join(mkdtempSync(join(tmpdir(), "bert-ts-splade-")), "in.jsonl");
    writeFileSync(file, inputs.map((x) => JSON.stringify(x.input)).join("\n") + "\n");
    const res = run(["embed", "-m", modelPath(SPLADE), "--pooling", "splade", "--input", file]);
    assert.equal(res.status, 0, res.stderr);
    const out = lines(res.stdout);
    assert.equal(out.length, inputs.length);
    out.forEach((o, i) => {
      assert.equal(o.text, inputs[i].input);
      assert.ok(o.indices.every((id: number, k: number) => k === 0 || id > o.indices[k - 1]), "ascending");
      assert.equal(o.tokens, undefined);
      const ref = inputs[i].outputs.splade.splade;
      assertClose(dense(o.indices, o.values), dense(ref.indices, ref.values), 1e-4, `line ${i}`);
    });
    assert.match(res.stderr, /1 text\(s\) were longer than 512 tokens and were truncated/);
  });

  it("--top-k keeps the largest weights; --tokens names them", () => {
    const x = singles()[3];
    const ref = x.outputs.splade.splade;
    const res = run(["embed", "-m", modelPath(SPLADE), "--pooling", "splade", "--top-k", "10", "--tokens", "--format", "jsonl", x.input]);
    assert.equal(res.status, 0, res.stderr);
    const [o] = lines(res.stdout);
    assert.deepEqual(o.indices, [...ref.top10_ids].sort((a: number, b: number) => a - b));
    assert.deepEqual(o.tokens, o.indices.map((id: number) => ref.top10_tokens[ref.top10_ids.indexOf(id)]));
  });

  it("refuses a checkpoint without a masked-LM head, by the missing tensor", { skip: skipUnlessModel("bert-micro-seqcls-random") }, () => {
    const res = run(["embed", "-m", modelPath("bert-micro-seqcls-random"), "--pooling", "splade", "x"]);
    assert.notEqual(res.status, 0);
    assert.match(res.stderr, /Cannot build BertForMaskedLM .*cls\.predictions/);
  });
});
