/** `bert-ts similarity` as a user runs it: scores checked against cosines of PyTorch's pooled vectors. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { resolveColorMode, renderHeatmap } from "../../src/cli/heatmap.js";
import { cosineSimilarity } from "../../src/pooling/similarity.js";
import { REPO_ROOT, loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const BIN = join(REPO_ROOT, "bin", "bert-ts.js");
const MINILM = "minilm-l6-h384-random";
const NER = "bert-micro-ner-random";

function run(args: string[], options: { input?: string; env?: Record<string, string> } = {}) {
  return spawnSync(process.execPath, [BIN, ...args], {
    input: options.input,
    encoding: "utf8",
    env: { ...process.env, BERT_TS_BACKEND: "", NO_COLOR: "", COLORTERM: "", ...options.env },
  });
}

/** Golden single-line inputs short enough to pass untruncated (and without NUL, which argv cannot carry). */
function goldenTexts(name: string, count: number, argv = true): any[] {
  return loadGolden(`${name}.json`)
    .inputs.filter((x: any) => typeof x.input === "string" && x.input.trim() && !x.input.includes("\n") && x.num_tokens_untruncated < 120)
    .filter((x: any) => !argv || !x.input.includes("\0"))
    .slice(0, count);
}

function assertMatrix(matrix: number[][], vectors: number[][], label: string): void {
  assert.equal(matrix.length, vectors.length, label);
  for (let i = 0; i < vectors.length; i++) {
    for (let j = 0; j < vectors.length; j++) {
      const expected = cosineSimilarity(vectors[i], vectors[j]);
      assert.ok(Math.abs(matrix[i][j] - expected) <= 1e-4, `${label} [${i}][${j}]: ${matrix[i][j]} vs ${expected}`);
    }
  }
}

describe("bert-ts similarity", { skip: skipUnlessModel(MINILM) || skipUnlessGolden(`${MINILM}.json`) }, () => {
  it("gives the cosine matrix of the model's sentence vectors as one JSON object", () => {
    const inputs = goldenTexts(MINILM, 20);
    const res = run(["similarity", "--model", modelPath(MINILM), "--format", "jsonl", ...inputs.map((x) => x.input)]);
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stderr, /RANDOM weights/);
    const lines = res.stdout.trim().split("\n");
    assert.equal(lines.length, 1);
    const out = JSON.parse(lines[0]);
    assert.deepEqual(out.texts, inputs.map((x) => x.input));
    assert.equal(out.pooling, "mean");
    assert.equal(out.normalize, true);
    assertMatrix(out.matrix, inputs.map((x) => x.outputs.base.pooled.mean_l2_normalized), "mean");
  });

  it("reads stdin, prints plain numbers when piped and colours only when asked", () => {
    const inputs = goldenTexts(MINILM, 3);
    const stdin = inputs.map((x) => x.input).join("\n") + "\n";
    const plain = run(["similarity", "--model", modelPath(MINILM), "--format", "text"], { input: stdin });
    assert.equal(plain.status, 0, plain.stderr);
    assert.doesNotMatch(plain.stdout, /\x1b\[/);
    const expected = cosineSimilarity(inputs[0].outputs.base.pooled.mean_l2_normalized, inputs[1].outputs.base.pooled.mean_l2_normalized);
    assert.match(plain.stdout, new RegExp(expected.toFixed(3).replace(".", "\\.")));
    assert.match(plain.stdout, /\[3\] /);
    const colored = run(["similarity", "--model", modelPath(MINILM), "--format", "text", "--color", "always"], { input: stdin });
    assert.match(colored.stdout, /\x1b\[(30|97);48;5;\d+m/);
    const truecolor = run(["similarity", "--model", modelPath(MINILM), "--format", "text", "--color", "always"], { input: stdin, env: { COLORTERM: "truecolor" } });
    assert.match(truecolor.stdout, /48;2;\d+;\d+;\d+m/);
    // Default with no --format when piped: JSON.
    const piped = run(["similarity", "--model", modelPath(MINILM)], { input: stdin });
    assertMatrix(JSON.parse(piped.stdout).matrix, inputs.map((x) => x.outputs.base.pooled.mean_l2_normalized), "piped default");
  });

  it("--pooling-compare scores the same texts with cls, pooler, mean and max from one pass", () => {
    const inputs = goldenTexts(MINILM, 4);
    const res = run(["similarity", "--model", modelPath(MINILM), "--pooling-compare", "--format", "jsonl", ...inputs.map((x) => x.input)]);
    assert.equal(res.status, 0, res.stderr);
    const lines = res.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.pooling), ["cls", "pooler", "mean", "max"]);
    const golden: Record<string, (x: any) => number[]> = {
      cls: (x) => x.outputs.base.pooled.cls,
      pooler: (x) => x.outputs.base.pooler_output,
      mean: (x) => x.outputs.base.pooled.mean,
      max: (x) => x.outputs.base.pooled.max,
    };
    for (const l of lines) assertMatrix(l.matrix, inputs.map(golden[l.pooling]), l.pooling);
    const text = run(["similarity", "--model", modelPath(MINILM), "--pooling-compare", "--format", "text", ...inputs.map((x) => x.input)]);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /pair\s+cls\s+pooler\s+mean\*\s+max/);
    assert.match(text.stdout, /\[1\]~\[2\]/);
    assert.match(text.stdout, /Spearman/);
  });

  it("fails with a message a person can act on", () => {
    const one = run(["similarity", "--model", modelPath(MINILM), "only one"]);
    assert.notEqual(one.status, 0);
    assert.match(one.stderr, /at least two texts/);
    const score = run(["similarity", "--model", modelPath(MINILM), "--score", "jaccard", "a", "b"]);
    assert.notEqual(score.status, 0);
    assert.match(score.stderr, /Unknown --score "jaccard"/);
    const both = run(["similarity", "--model", modelPath(MINILM), "--pooling-compare", "--pooling", "cls", "a", "b"]);
    assert.match(both.stderr, /drop --pooling/);
    const help = run(["similarity", "--help"]);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /Examples:/);
    assert.match(help.stdout, /"matrix"/);
  });

  it("texts from a .jsonl --input, --pooling and --layers change the vectors as asked", () => {
    const inputs = goldenTexts(MINILM, 20, false);
    const dir = mkdtempSync(join(tmpdir(), "bert-ts-sim-"));
    const file = join(dir, "in.jsonl");
    writeFileSync(file, inputs.map((x) => JSON.stringify(x.input)).join("\n") + "\n");
    const res = run(["similarity", "--model", modelPath(MINILM), "--input", file, "--pooling", "cls", "--format", "jsonl"]);
    assert.equal(res.status, 0, res.stderr);
    assertMatrix(JSON.parse(res.stdout).matrix, inputs.map((x) => x.outputs.base.pooled.cls), "cls");
    const layers = run(["similarity", "--model", modelPath(MINILM), "--input", file, "--layers", "last2-mean", "--format", "jsonl"]);
    assert.equal(layers.status, 0, layers.stderr);
    assert.notDeepEqual(JSON.parse(layers.stdout).matrix, JSON.parse(res.stdout).matrix);
  });
});

describe("bert-ts similarity --pooling-compare without pooler weights", { skip: skipUnlessModel(NER) }, () => {
  it("skips pooler with a note", () => {
    const res = run(["similarity", "--model", modelPath(NER), "--pooling-compare", "--format", "jsonl", "one text", "another text", "a third"]);
    assert.equal(res.status, 0, res.stderr);
    assert.match(res.stderr, /skipping pooler: .* has no pooler weights/);
    assert.deepEqual(res.stdout.trim().split("\n").map((l) => JSON.parse(l).pooling), ["cls", "mean", "max"]);
  });
});

describe("heatmap colour rules", () => {
  it("follows NO_COLOR, the terminal and COLORTERM", () => {
    assert.equal(resolveColorMode("auto", true, {}), "256");
    assert.equal(resolveColorMode("auto", true, { COLORTERM: "truecolor" }), "truecolor");
    assert.equal(resolveColorMode("auto", true, { NO_COLOR: "1" }), "none");
    assert.equal(resolveColorMode("auto", false, {}), "none");
    assert.equal(resolveColorMode("auto", true, { TERM: "dumb" }), "none");
    assert.equal(resolveColorMode("never", true, {}), "none");
    assert.equal(resolveColorMode("always", false, { NO_COLOR: "1" }), "256");
    assert.throws(() => resolveColorMode("sometimes", true, {}), /Unknown --color/);
  });

  it("aligns numbers and lists the texts", () => {
    const out = renderHeatmap(["a", "b"], [[1, 0.25], [0.25, 1]], { color: "none", digits: 2 });
    assert.equal(out, "        1     2\n[1]  1.00  0.25\n[2]  0.25  1.00\n\n[1] a\n[2] b\n");
  });
});
