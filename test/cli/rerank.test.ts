/** `bert-ts rerank` as a user runs it (spawned process, files), scores checked against PyTorch. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { assertClose } from "../helpers/assert.js";
import { REPO_ROOT, loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const BIN = join(REPO_ROOT, "bin", "bert-ts.js");
const CE = "bert-micro-cross-encoder-random";

function run(args: string[], input?: string) {
  return spawnSync(process.execPath, [BIN, ...args], { input, encoding: "utf8" });
}
const lines = (stdout: string) => stdout.trim().split("\n").map((l) => JSON.parse(l));

describe("bert-ts rerank", { skip: skipUnlessModel(CE) || skipUnlessGolden(`${CE}.json`) }, () => {
  const inputs = () => loadGolden(`${CE}.json`).inputs as any[];
  const dir = mkdtempSync(join(tmpdir(), "bert-ts-rerank-"));

  it("scores a .jsonl of [query, passage] pairs: one line per pair, in input order; --raw-scores gives logits", () => {
    const file = join(dir, "pairs.jsonl");
    writeFileSync(file, inputs().map((x) => JSON.stringify(x.input)).join("\n") + "\n");
    const res = run(["rerank", "-m", modelPath(CE), "--input", file]);
    assert.equal(res.status, 0, res.stderr);
    const out = lines(res.stdout);
    assert.equal(out.length, inputs().length);
    out.forEach((o, i) => assert.deepEqual([o.query, o.passage], inputs()[i].input));
    assertClose(out.map((o) => o.score), inputs().map((x) => x.outputs.rerank.sigmoid), 1e-4, "sigmoid scores");
    assert.match(res.stderr, /1 pair\(s\) were longer than the model's 512 tokens; their passages were truncated/);
    const raw = run(["rerank", "-m", modelPath(CE), "--input", file, "--raw-scores"]);
    assert.equal(raw.status, 0, raw.stderr);
    assertClose(lines(raw.stdout).map((o) => o.score), inputs().map((x) => x.outputs.rerank.score), 1e-4, "raw logits");
  });

  it("ranks passages for --query best first, with their index", () => {
    const query = "what is the boiling point of water at sea level";
    const refs = inputs().filter((x) => x.input[0] === query);
    const file = join(dir, "passages.txt");
    writeFileSync(file, refs.map((x) => x.input[1]).join("\n") + "\n");
    const res = run(["rerank", "-m", modelPath(CE), "--query", query, "--input", file]);
    assert.equal(res.status, 0, res.stderr);
    const out = lines(res.stdout);
    const expected = refs.map((x, index) => ({ index, score: x.outputs.rerank.sigmoid })).sort((a, b) => b.score - a.score);
    assert.deepEqual(out.map((o) => o.index), expected.map((e) => e.index));
    assertClose(out.map((o) => o.score), expected.map((e) => e.score), 1e-4, "ranked scores");
    out.forEach((o) => assert.equal(o.text, refs[o.index].input[1]));
    const top = run(["rerank", "-m", modelPath(CE), "-q", query, "-k", "1", ...refs.map((x) => x.input[1])]);
    assert.equal(top.status, 0, top.stderr);
    assert.deepEqual(lines(top.stdout).map((o) => o.index), [expected[0].index]);
  });

  it("fails clearly on single texts without --query, and on a model with several labels", { skip: skipUnlessModel("bert-micro-seqcls-random") }, () => {
    const res = run(["rerank", "-m", modelPath(CE), "just a passage"]);
    assert.notEqual(res.status, 0);
    assert.match(res.stderr, /Without --query every input line must be a \[query, passage\] pair/);
    const multi = run(["rerank", "-m", modelPath("bert-micro-seqcls-random"), "-q", "q", "p"]);
    assert.notEqual(multi.status, 0);
    assert.match(multi.stderr, /has 3 labels; reranking needs a cross-encoder with one output/);
  });
});
