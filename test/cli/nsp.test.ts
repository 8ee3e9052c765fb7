/** `bert-ts nsp` as a user runs it: a spawned process; pairs from arguments and from .jsonl, checked against PyTorch. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { assertClose } from "../helpers/assert.js";
import { REPO_ROOT, loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const BIN = join(REPO_ROOT, "bin", "bert-ts.js");
const NAME = "bert-tiny-pretraining-random";

function run(args: string[], input?: string) {
  return spawnSync(process.execPath, [BIN, ...args], { input, encoding: "utf8" });
}
const lines = (stdout: string) => stdout.trim().split("\n").map((l) => JSON.parse(l));

describe("bert-ts nsp", { skip: skipUnlessModel(NAME) || skipUnlessGolden(`${NAME}.json`) }, () => {
  const pairs = () => loadGolden(`${NAME}.json`).inputs.filter((x: any) => x.is_pair);

  it("judges two argument sentences, JSONL with HF's logits", () => {
    const p = pairs()[0];
    const res = run(["nsp", "--model", modelPath(NAME), "--format", "jsonl", p.input[0], p.input[1]]);
    assert.equal(res.status, 0, res.stderr);
    const [o] = lines(res.stdout);
    assert.deepEqual([o.text, o.text_pair], p.input);
    assertClose(o.logits, p.outputs.nsp.logits, 1e-4, "logits");
    assertClose([o.probability], [p.outputs.nsp.softmax[0]], 1e-4, "probability");
    assert.equal(o.is_next, p.outputs.nsp.softmax[0] >= 0.5);
  });

  it("reads pairs from a .jsonl file, in order, and prints a readable verdict with --format text", () => {
    const ps = pairs();
    const dir = mkdtempSync(join(tmpdir(), "bert-ts-nsp-"));
    writeFileSync(join(dir, "pairs.jsonl"), ps.map((p: any) => JSON.stringify(p.input)).join("\n") + "\n");
    const ok = run(["nsp", "-m", modelPath(NAME), "-i", join(dir, "pairs.jsonl")]);
    assert.equal(ok.status, 0, ok.stderr);
    const out = lines(ok.stdout);
    assert.equal(out.length, ps.length);
    out.forEach((o: any, i: number) => assertClose(o.logits, ps[i].outputs.nsp.logits, 1e-4, `pair ${i}`));
    const text = run(["nsp", "-m", modelPath(NAME), "-f", "text", ps[0].input[0], ps[0].input[1]]);
    assert.match(text.stdout, /^A: ".*"\nB: ".*"\n  B (does not )?follows? A \(P\(is next\) = 0\.\d{4}\)\n$/);
  });

  it("refuses anything but two sentences, and checkpoints without the head", () => {
    const three = run(["nsp", "-m", modelPath(NAME), "a", "b", "c"]);
    assert.notEqual(three.status, 0);
    assert.match(three.stderr, /nsp takes two sentences "A" "B" \(got 3\)/);
    const single = run(["nsp", "-m", modelPath(NAME)], "just one line\n");
    assert.notEqual(single.status, 0);
    assert.match(single.stderr, /Input 1 is a single text; nsp needs pairs/);
    const noHead = run(["nsp", "-m", modelPath("bert-micro-seqcls-random"), "a", "b"]);
    assert.notEqual(noHead.status, 0);
    assert.match(noHead.stderr, /missing weights cls\.seq_relationship\.weight \[2, 64\], cls\.seq_relationship\.bias \[2\]/);
  });
});
