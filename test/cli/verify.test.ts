/** `bert-ts verify`: passes on the PyTorch references, fails (exit 1) on a perturbed copy, self-checks without one. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { gzipSync } from "node:zlib";
import { GOLDEN_DIR, REPO_ROOT, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const goldenPath = (file: string) => join(GOLDEN_DIR, file);

const BIN = join(REPO_ROOT, "bin", "bert-ts.js");
const run = (args: string[]) => spawnSync(process.execPath, [BIN, "verify", ...args], { encoding: "utf8" });
const jsonl = (s: string) => s.trim().split("\n").map((l) => JSON.parse(l));
const MODELS = ["minilm-l6-h384-random", "bert-tiny-pretraining-random", "bert-micro-qa-random", "bert-micro-ner-random"];

describe("bert-ts verify", { skip: MODELS.map((m) => skipUnlessModel(m) || skipUnlessGolden(`${m}.json`)).find(Boolean) }, () => {
  it("passes on the shared PyTorch references, one line per output kind", () => {
    const expected: Record<string, string[]> = {
      "minilm-l6-h384-random": ["input_ids", "last_hidden_state", "pooler_output", "pooled.cls", "pooled.mean_l2_normalized"],
      "bert-tiny-pretraining-random": ["mlm.mask_position_logits", "nsp.logits"],
      "bert-micro-qa-random": ["qa.start_logits", "qa.end_logits"],
      "bert-micro-ner-random": ["tokcls.logits"],
    };
    for (const m of MODELS) {
      const res = run(["-m", modelPath(m), "-r", goldenPath(`${m}.json`), "--format", "jsonl"]);
      assert.equal(res.status, 0, `${m}: ${res.stdout}${res.stderr}`);
      const lines = jsonl(res.stdout);
      for (const kind of expected[m]) assert.ok(lines.some((l) => l.kind === kind && l.pass && l.inputs > 0 && l.max_abs_diff <= 1e-4), `${m}: ${kind}`);
      // The NER checkpoint's pooler was random in PyTorch (not in the checkpoint): not compared.
      if (m === "bert-micro-ner-random") assert.ok(!lines.some((l) => l.kind === "pooler_output"));
    }
  });

  it("fails with exit 1 on a perturbed copy, naming the output kind and the worst input", () => {
    const m = "bert-tiny-pretraining-random";
    const ref = JSON.parse(readFileSync(goldenPath(`${m}.json`), "utf8"));
    ref.inputs[3].outputs.base.last_hidden_state[5][7] += 0.01;
    ref.inputs[10].outputs.nsp.logits[1] -= 0.5;
    const dir = mkdtempSync(join(tmpdir(), "bert-ts-verify-"));
    const file = join(dir, "perturbed.json.gz");
    writeFileSync(file, gzipSync(JSON.stringify(ref)));
    const res = run(["-m", modelPath(m), "-r", file, "--format", "jsonl"]);
    assert.equal(res.status, 1, res.stderr);
    const byKind = Object.fromEntries(jsonl(res.stdout).map((l) => [l.kind, l]));
    assert.equal(byKind.last_hidden_state.pass, false);
    assert.equal(byKind.last_hidden_state.worst_input, 3);
    assert.ok(Math.abs(byKind.last_hidden_state.max_abs_diff - 0.01) < 1e-4);
    assert.equal(byKind["nsp.logits"].pass, false);
    assert.equal(byKind["nsp.logits"].worst_input, 10);
    assert.equal(byKind["pooled.mean"].pass, true, "untouched kinds still pass");
    assert.equal(byKind.input_ids.pass, true);
    // A looser tolerance lets the small perturbation through, not the large one.
    const loose = jsonl(run(["-m", modelPath(m), "-r", file, "--format", "jsonl", "--tolerance", "0.02"]).stdout);
    assert.deepEqual(loose.filter((l) => !l.pass).map((l) => l.kind), ["nsp.logits"]);
    const text = run(["-m", modelPath(m), "-r", file, "--format", "text"]);
    assert.match(text.stdout, /last_hidden_state\s+1\.00e-2\s+3\s+25\s+FAIL/);
    assert.match(text.stdout, /2 of 12 checks FAIL/);
  });

  it("checks every head kind in the shared references: sequence classification, cross-encoder score and sigmoid, SPLADE indices and values", { skip: ["bert-micro-seqcls-random", "bert-micro-cross-encoder-random", "bert-micro-splade-random"].map((m) => skipUnlessModel(m) || skipUnlessGolden(`${m}.json`)).find(Boolean) }, () => {
    const expected: Record<string, string[]> = {
      "bert-micro-seqcls-random": ["seqcls.logits", "pooled.max"],
      "bert-micro-cross-encoder-random": ["rerank.score", "rerank.sigmoid", "last_hidden_state"],
      "bert-micro-splade-random": ["splade.indices", "splade.values"],
    };
    for (const [m, kinds] of Object.entries(expected)) {
      const res = run(["-m", modelPath(m), "-r", goldenPath(`${m}.json`), "--format", "jsonl"]);
      assert.equal(res.status, 0, `${m}: ${res.stdout}${res.stderr}`);
      const lines = jsonl(res.stdout);
      for (const kind of kinds) assert.ok(lines.some((l) => l.kind === kind && l.pass && l.inputs > 0 && !l.skipped), `${m}: ${kind} ${res.stdout}`);
      // What the reference holds but verify does not compare is listed, never silently dropped.
      if (m !== "bert-micro-splade-random") assert.ok(lines.some((l) => l.kind === "base.embedding_output" && l.skipped && l.inputs === 0), m);
    }
    // A SPLADE reference with one index moved and one value changed fails on both kinds, at that input.
    const m = "bert-micro-splade-random";
    const ref = JSON.parse(readFileSync(goldenPath(`${m}.json`), "utf8"));
    const sp = ref.inputs[2].outputs.splade.splade;
    sp.indices[0] = sp.indices[0] === 0 ? 1 : sp.indices[0] - 1;
    ref.inputs[4].outputs.splade.splade.values[3] += 0.001;
    ref.inputs[5].outputs.rerank = { score: 0.5 };
    const file = join(mkdtempSync(join(tmpdir(), "bert-ts-verify-")), "splade.json");
    writeFileSync(file, JSON.stringify(ref));
    const res = run(["-m", modelPath(m), "-r", file, "--format", "jsonl"]);
    assert.equal(res.status, 1, res.stdout);
    const byKind = Object.fromEntries(jsonl(res.stdout).map((l) => [l.kind, l]));
    assert.deepEqual([byKind["splade.indices"].pass, byKind["splade.indices"].worst_input, byKind["splade.indices"].max_abs_diff], [false, 2, 2]);
    assert.deepEqual([byKind["splade.values"].pass, byKind["splade.values"].worst_input], [false, 2]);
    // The masked-LM checkpoint is no cross-encoder: its rerank reference fails with the reason.
    assert.equal(byKind["rerank.score"].pass, false);
    assert.match(byKind["rerank.score"].error, /BertForSequenceClassification .*missing weights/);
  });

  it("refuses a file that is not a reference, naming it", () => {
    const file = join(mkdtempSync(join(tmpdir(), "bert-ts-verify-")), "nope.json");
    writeFileSync(file, JSON.stringify({ hello: 1 }));
    const res = run(["-m", modelPath(MODELS[0]), "-r", file]);
    assert.equal(res.status, 1);
    assert.match(res.stderr, /nope\.json: expected a reference file/);
  });

  it("runs self-checks without a reference: native vs reference backend, batch invariance, tokenizer round trips", () => {
    const res = run(["-m", modelPath(MODELS[0]), "--format", "jsonl"]);
    assert.equal(res.status, 0, res.stdout + res.stderr);
    const lines = jsonl(res.stdout);
    assert.deepEqual(lines.map((l) => l.kind), ["native_vs_reference_backend", "batch_invariance", "tokenizer_round_trip"]);
    for (const l of lines) assert.ok(l.pass && l.inputs === 6, JSON.stringify(l));
    assert.equal(lines[1].max_abs_diff, 0, "bit-identical in a batch");
  });
});
