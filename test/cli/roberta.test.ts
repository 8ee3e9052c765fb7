/**
 * The CLI on RoBERTa folders, as a user runs it (spawned process; bin imports dist/, so build
 * first): `tokenize` on both folders (tokenizer.json; vocab.json + merges.txt only), `embed` and
 * `classify`, every golden input sent as one JSONL file (pairs, tabs, newlines, emoji included),
 * checked against PyTorch.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { assertClose } from "../helpers/assert.js";
import { REPO_ROOT, loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const BIN = join(REPO_ROOT, "bin", "bert-ts.js");
const MICRO = "roberta-micro-random";
const NANO = "roberta-nano-seqcls-random";

function run(args: string[], input?: string) {
  return spawnSync(process.execPath, [BIN, ...args], { input, encoding: "utf8", env: { ...process.env, BERT_TS_BACKEND: "" } });
}
const lines = (stdout: string) => stdout.trim().split("\n").map((l) => JSON.parse(l));

/** Every golden input as a .jsonl file (a string, or [a, b] for a pair); empty texts left out. */
function jsonlOf(inputs: any[]): string {
  const dir = mkdtempSync(join(tmpdir(), "bert-ts-roberta-"));
  const path = join(dir, "in.jsonl");
  writeFileSync(path, inputs.map((x) => JSON.stringify(x.input)).join("\n") + "\n");
  return path;
}
const usable = (g: any) => g.inputs.filter((x: any) => (x.is_pair ? x.input[0] : x.input).trim().length > 0);

for (const name of [MICRO, NANO]) {
  describe(`bert-ts tokenize / embed: ${name}`, { skip: skipUnlessModel(name) || skipUnlessGolden(`${name}.json`) }, () => {
    it("tokenize gives transformers' tokens and ids for every input, with offsets into the text", () => {
      const inputs = usable(loadGolden(`${name}.json`));
      const res = run(["tokenize", "--model", modelPath(name), "--input", jsonlOf(inputs), "--truncation", "--format", "jsonl"]);
      assert.equal(res.status, 0, res.stderr);
      const out = lines(res.stdout);
      assert.equal(out.length, inputs.length);
      out.forEach((o: any, i: number) => {
        const x = inputs[i];
        assert.deepEqual(o.input_ids, x.input_ids, `line ${i} ids`);
        assert.deepEqual(o.tokens, x.tokens, `line ${i} tokens`);
        assert.deepEqual(o.attention_mask, x.attention_mask, `line ${i} attention_mask`);
        assert.deepEqual(o.special_tokens_mask, x.special_tokens_mask, `line ${i} special_tokens_mask`);
        assert.ok(o.token_type_ids.every((t: number) => t === 0), `line ${i} one token type`);
        assert.equal(o.num_truncated_tokens, x.num_tokens_untruncated - x.num_tokens, `line ${i} truncated`);
      });
      // " world" → "Ġworld", whose offsets leave the space out (trim_offsets).
      const hello = run(["tokenize", "-m", modelPath(name), "-f", "jsonl", "Hello world"]);
      assert.equal(hello.status, 0, hello.stderr);
      const h = JSON.parse(hello.stdout);
      assert.deepEqual(h.tokens, ["<s>", "Hello", "Ġworld", "</s>"]);
      assert.deepEqual(h.offsets, [[0, 0], [0, 5], [6, 11], [0, 0]]);
    });

    it("embed pools RoBERTa's first token <s> by default, as PyTorch computes it", () => {
      const inputs = usable(loadGolden(`${name}.json`)).filter((x: any) => !x.is_pair && x.outputs.base);
      const res = run(["embed", "--model", modelPath(name), "--input", jsonlOf(inputs), "--format", "jsonl"]);
      assert.equal(res.status, 0, res.stderr);
      const out = lines(res.stdout);
      assert.equal(out.length, inputs.length);
      out.forEach((o: any, i: number) => assertClose(o.embedding, inputs[i].outputs.base.pooled.cls, 1e-4, `line ${i}`));
      const mean = run(["embed", "--model", modelPath(name), "--pooling", "mean", "--format", "jsonl", inputs[1].input]);
      assert.equal(mean.status, 0, mean.stderr);
      assertClose(JSON.parse(mean.stdout).embedding, inputs[1].outputs.base.pooled.mean, 1e-4, "mean");
    });
  });
}

describe(`bert-ts classify: ${NANO}`, { skip: skipUnlessModel(NANO) || skipUnlessGolden(`${NANO}.json`) }, () => {
  it("classifies every input (pairs included) with PyTorch's logits", () => {
    const inputs = usable(loadGolden(`${NANO}.json`));
    const res = run(["classify", "--model", modelPath(NANO), "--input", jsonlOf(inputs), "--format", "jsonl"]);
    assert.equal(res.status, 0, res.stderr);
    const out = lines(res.stdout);
    assert.equal(out.length, inputs.length);
    out.forEach((o: any, i: number) => {
      const ref = inputs[i].outputs.seqcls;
      assertClose(o.logits, ref.logits, 1e-4, `line ${i} logits`);
      assert.equal(o.label, ref.argmax_label, `line ${i} label`);
      assertClose([o.score], [Math.max(...ref.softmax)], 1e-4, `line ${i} score`);
    });
  });
});
