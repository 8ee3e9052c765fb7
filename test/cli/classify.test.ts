/** `bert-ts classify` as a user runs it: a spawned process, stdin, files; labels and logits checked against PyTorch. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { assertClose } from "../helpers/assert.js";
import { REPO_ROOT, loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const BIN = join(REPO_ROOT, "bin", "bert-ts.js");
const SEQCLS = "bert-micro-seqcls-random";
const MULTI = "bert-micro-multilabel-random";

function run(args: string[], input?: string) {
  return spawnSync(process.execPath, [BIN, ...args], { input, encoding: "utf8" });
}
const lines = (stdout: string) => stdout.trim().split("\n").map((l) => JSON.parse(l));

describe("bert-ts classify", { skip: skipUnlessModel(SEQCLS) || skipUnlessGolden(`${SEQCLS}.json`) }, () => {
  const g = () => loadGolden(`${SEQCLS}.json`);

  it("classifies stdin lines as JSONL, one object per input in order, with HF's logits", () => {
    const inputs = g().inputs.filter((x: any) => typeof x.input === "string" && x.input.trim() && !/[\n\r]/.test(x.input));
    const res = run(["classify", "--model", modelPath(SEQCLS)], inputs.map((x: any) => x.input).join("\n") + "\n");
    assert.equal(res.status, 0, res.stderr);
    const out = lines(res.stdout);
    assert.equal(out.length, inputs.length);
    out.forEach((o: any, i: number) => {
      const ref = inputs[i].outputs.seqcls;
      assert.equal(o.text, inputs[i].input);
      assertClose(o.logits, ref.logits, 1e-4, `line ${i} logits`);
      assert.equal(o.label, ref.argmax_label);
      assertClose([o.score], [Math.max(...ref.softmax)], 1e-4, `line ${i} score`);
      assert.deepEqual(o.labels.map((l: any) => l.label).sort(), ["negative", "neutral", "positive"]);
      assert.equal(o.num_truncated_tokens, inputs[i].num_tokens_untruncated - inputs[i].num_tokens);
    });
    // The golden set holds texts over 512 tokens: truncation is said, not silent.
    assert.ok(inputs.some((x: any) => x.truncated));
    assert.match(res.stderr, /input\(s\) were longer than the model's 512 tokens and were truncated/);
  });

  it("takes pairs from a .jsonl file, --top-k, --function and --output", () => {
    const pair = g().inputs.find((x: any) => Array.isArray(x.input));
    const dir = mkdtempSync(join(tmpdir(), "bert-ts-classify-"));
    writeFileSync(join(dir, "in.jsonl"), JSON.stringify({ text: pair.input[0], text_pair: pair.input[1] }) + "\n" + JSON.stringify(pair.input) + "\n");
    const outFile = join(dir, "out.jsonl");
    const res = run(["classify", "-m", modelPath(SEQCLS), "-i", join(dir, "in.jsonl"), "--top-k", "1", "--function", "none", "-o", outFile]);
    assert.equal(res.status, 0, res.stderr);
    const out = lines(readFileSync(outFile, "utf8"));
    assert.equal(out.length, 2);
    for (const o of out) {
      assert.equal(o.text_pair, pair.input[1]);
      assert.equal(o.labels.length, 1);
      assertClose([o.score], [Math.max(...pair.outputs.seqcls.logits)], 1e-4, "raw score");
      assertClose(o.logits, pair.outputs.seqcls.logits, 1e-4, "pair logits");
    }
  });

  it("-k all lists every label, best first, with PyTorch's softmax", () => {
    const inp = g().inputs[1];
    const res = run(["classify", "-m", modelPath(SEQCLS), "-k", "all", "--format", "jsonl", inp.input]);
    assert.equal(res.status, 0, res.stderr);
    const [o] = lines(res.stdout);
    const names = ["negative", "neutral", "positive"];
    const want = names.map((label, i) => ({ label, score: inp.outputs.seqcls.softmax[i] as number })).sort((a, b) => b.score - a.score);
    assert.deepEqual(o.labels.map((l: any) => l.label), want.map((w) => w.label));
    assertClose(o.labels.map((l: any) => l.score), want.map((w) => w.score), 1e-4, "-k all scores");
  });

  it("prints a readable table with --format text", () => {
    const inp = g().inputs[0];
    const res = run(["classify", "-m", modelPath(SEQCLS), "--format", "text", inp.input]);
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stdout, new RegExp(`^${JSON.stringify(inp.input).replace(/[!?.,]/g, "\\$&")}\\n\\s+label\\s+score\\n\\s+${inp.outputs.seqcls.argmax_label}\\s+0\\.\\d{4}\\n`));
  });

  it("uses sigmoid for a multi-label model", { skip: skipUnlessModel(MULTI) || skipUnlessGolden(`${MULTI}.json`) }, () => {
    const inp = loadGolden(`${MULTI}.json`).inputs[1];
    const res = run(["classify", "-m", modelPath(MULTI), "--format", "jsonl", inp.input]);
    assert.equal(res.status, 0, res.stderr);
    const [o] = lines(res.stdout);
    assertClose([o.score], [Math.max(...inp.outputs.seqcls.sigmoid)], 1e-4, "sigmoid score");
  });

  it("fails with a clear message and a non-zero exit when the checkpoint has no classifier", { skip: skipUnlessModel("bert-micro-ner-random") }, () => {
    const res = run(["classify", "-m", modelPath("bert-micro-ner-random"), "hello"]);
    assert.notEqual(res.status, 0);
    assert.equal(res.stdout, "");
    assert.match(res.stderr, /bert-ts: Cannot build BertForSequenceClassification .*missing weights bert\.pooler\.dense\.weight/);
  });

  it("rejects a bad --top-k and --function", () => {
    const bad = run(["classify", "-m", modelPath(SEQCLS), "--function", "relu", "x"]);
    assert.notEqual(bad.status, 0);
    assert.match(bad.stderr, /Unknown --function "relu"/);
    const k = run(["classify", "-m", modelPath(SEQCLS), "--top-k", "0", "x"]);
    assert.notEqual(k.status, 0);
    assert.match(k.stderr, /--top-k expects a positive integer/);
  });
});
