/** `bert-ts fill-mask` as a user runs it: a spawned process; predictions at [MASK] checked against PyTorch. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, it } from "node:test";
import { assertClose } from "../helpers/assert.js";
import { REPO_ROOT, loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const BIN = join(REPO_ROOT, "bin", "bert-ts.js");
const NAME = "bert-tiny-pretraining-random";
const TEXT = "The capital of France is [MASK].";

function run(args: string[], input?: string) {
  return spawnSync(process.execPath, [BIN, ...args], { input, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
}
const lines = (stdout: string) => stdout.trim().split("\n").map((l) => JSON.parse(l));

describe("bert-ts fill-mask", { skip: skipUnlessModel(NAME) || skipUnlessGolden(`${NAME}.json`) }, () => {
  const ref = () => loadGolden(`${NAME}.json`).inputs.find((x: any) => x.input === TEXT).outputs.mlm;

  it("predicts PyTorch's top tokens at the [MASK], JSONL with the filled sequences", () => {
    const r = ref();
    const res = run(["fill-mask", "--model", modelPath(NAME), "--format", "jsonl", "--top-k", "10", TEXT]);
    assert.equal(res.status, 0, res.stderr);
    const [o] = lines(res.stdout);
    assert.equal(o.text, TEXT);
    assert.equal(o.masks.length, 1);
    assert.equal(o.masks[0].position, r.mask_positions[0]);
    const preds = o.masks[0].predictions;
    assert.deepEqual(preds.map((p: any) => p.token), r.top10_ids[r.mask_positions[0]]);
    assert.deepEqual(preds.map((p: any) => p.token_str), r.top10_tokens[r.mask_positions[0]]);
    assert.equal(preds[0].sequence, `the capital of france is ${preds[0].token_str}.`);
    assert.equal(o.masks[0].logits, undefined);
  });

  it("writes the vocabulary logits with --logits, reads stdin, and prints a readable table", () => {
    const r = ref();
    const res = run(["fill-mask", "-m", modelPath(NAME), "--logits", "-k", "2"], `${TEXT}\nHello [MASK] and [MASK]!\n`);
    assert.equal(res.status, 0, res.stderr);
    const out = lines(res.stdout);
    assert.equal(out.length, 2);
    assertClose(out[0].masks[0].logits, r.mask_position_logits[0], 1e-4, "logits");
    assert.equal(out[1].masks.length, 2);
    assert.match(out[1].masks[1].predictions[0].sequence, /^\[CLS\] hello \[MASK\] and .+ ! \[SEP\]$|^\[CLS\] hello \[MASK\] and .+! \[SEP\]$/);
    const text = run(["fill-mask", "-m", modelPath(NAME), "-f", "text", TEXT]);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /^".*"\n\s+score\s+token\s+sequence\n(\s+0\.\d{4}\s+\S+\s+the capital of france is.*\.\n){5}$/);
  });

  it("fails clearly without a mask token, and on a checkpoint without the MLM head", () => {
    const none = run(["fill-mask", "-m", modelPath(NAME), "no mask here"]);
    assert.notEqual(none.status, 0);
    assert.match(none.stderr, /No mask token \(\[MASK\]\) found in input 0: "no mask here"; write \[MASK\]/);
    const noHead = run(["fill-mask", "-m", modelPath("bert-micro-seqcls-random"), TEXT]);
    assert.notEqual(noHead.status, 0);
    assert.match(noHead.stderr, /Cannot build BertForMaskedLM .*cls\.predictions\.transform\.dense\.weight/);
  });
});
