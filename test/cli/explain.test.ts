/**
 * `bert-ts explain` as a spawned process: the numbers (--format jsonl) against the PyTorch
 * references — cls_attention weights from pooling-extra, max's dimensions won from the reference
 * last hidden states — and the terminal rows with bars.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { assertClose } from "../helpers/assert.js";
import { REPO_ROOT, loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const BIN = join(REPO_ROOT, "bin", "bert-ts.js");
const MINILM = "minilm-l6-h384-random";

function explain(args: string[]) {
  return spawnSync(process.execPath, [BIN, "explain", "--model", modelPath(MINILM), ...args], { encoding: "utf8", env: { ...process.env, BERT_TS_BACKEND: "" } });
}

describe("bert-ts explain", { skip: skipUnlessModel(MINILM) || skipUnlessGolden(`${MINILM}.json`) || skipUnlessGolden("pooling-extra/minilm-l6-h384-random.json") }, () => {
  it("--pooling cls_attention --format jsonl gives the reference attention weights per token", () => {
    const cases = loadGolden("pooling-extra/minilm-l6-h384-random.json").cls_attention.filter((c: any) => c.input_ids.length < 100).slice(0, 5);
    const res = explain(["--pooling", "cls_attention", "--format", "jsonl", ...cases.map((c: any) => c.input)]);
    assert.equal(res.status, 0, res.stderr);
    const lines = res.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(lines.length, cases.length);
    lines.forEach((l: any, k: number) => {
      assert.equal(l.pooling, "cls_attention");
      assert.equal(l.measure, "weight");
      assert.equal(l.tokens.length, cases[k].input_ids.length);
      assertClose(l.values, cases[k].weights, 1e-4, `case ${k}`);
    });
  });

  it("mean is a uniform share (the model's default here); max counts the dimensions each token wins", () => {
    const inp = loadGolden(`${MINILM}.json`).inputs.find((x: any) => typeof x.input === "string" && x.num_tokens > 8 && x.num_tokens < 40);
    const mean = JSON.parse(explain(["--format", "jsonl", inp.input]).stdout);
    assert.equal(mean.pooling, "mean");
    assert.deepEqual(mean.tokens, inp.tokens);
    assert.deepEqual(mean.values, new Array(inp.num_tokens).fill(1 / inp.num_tokens));

    const max = JSON.parse(explain(["--pooling", "max", "--format", "jsonl", inp.input]).stdout);
    assert.equal(max.measure, "dimensions_won");
    // From the reference hidden states: the token holding each dimension's maximum. Dimensions whose
    // top two values lie within the tolerance may go either way.
    const h: number[][] = inp.outputs.base.last_hidden_state;
    const want = new Array(h.length).fill(0);
    let ties = 0;
    for (let c = 0; c < h[0].length; c++) {
      const order = h.map((row, t) => [row[c], t]).sort((a, b) => b[0] - a[0]);
      want[order[0][1]]++;
      if (order[0][0] - order[1][0] < 2e-4) ties++;
    }
    assert.equal(max.values.reduce((a: number, b: number) => a + b, 0), 384);
    const off = max.values.reduce((a: number, v: number, t: number) => a + Math.abs(v - want[t]), 0);
    assert.ok(off <= 2 * ties, `dimensions won differ by ${off} (near-ties: ${ties})`);
  });

  it("draws one row per token with a bar on a terminal-style text output, and refuses pooling none", () => {
    const res = explain(["--pooling", "cls_attention", "--format", "text", "Hello, world!"]);
    assert.equal(res.status, 0, res.stderr);
    const rows = res.stdout.trim().split("\n").slice(2);
    assert.deepEqual(rows.map((r) => r.trim().split(/\s+/)[0]), ["[CLS]", "hello", ",", "world", "!", "[SEP]"]);
    for (const r of rows) assert.match(r, /\d\.\d{4}\s+[█▏▎▍▌▋▊▉]+$/);
    assert.ok(rows.some((r) => r.endsWith("█".repeat(40))), "the largest weight fills the bar");
    const none = explain(["--pooling", "none", "x"]);
    assert.notEqual(none.status, 0);
    assert.match(none.stderr, /nothing to explain/);
  });
});
