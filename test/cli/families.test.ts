/**
 * The CLI and server on the DistilBERT, ELECTRA and MPNet folders, as a user runs them (spawned
 * process; bin imports dist/, so build first), checked against PyTorch: `classify` on the
 * DistilBERT and ELECTRA classifiers (pairs included), `embed` with each folder's default pooling
 * (sentence-transformers mean + Normalize for MPNet, mean for DistilBERT, the raw first token for
 * ELECTRA, which has no pooler), the clear errors for a missing pooler or head, `inspect`, and
 * `serve`'s /embed and /predict on MPNet and DistilBERT. The current tokenizers give the golden ids
 * for these folders (vocab.txt / tokenizer.json WordPiece); ALBERT and XLM-R wait for SentencePiece.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startServer, type RunningServer } from "../../src/server/app.js";
import { assertClose } from "../helpers/assert.js";
import { REPO_ROOT, loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";
import { post } from "../server/helpers.js";

const BIN = join(REPO_ROOT, "bin", "bert-ts.js");
const DISTILBERT = "distilbert-micro-random";
const DISTILBERT_SST2 = "distilbert-micro-seqcls-random";
const ELECTRA = "electra-micro-seqcls-random";
const MPNET = "mpnet-micro-random";

function run(args: string[]) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...process.env, BERT_TS_BACKEND: "" } });
}
const lines = (stdout: string) => stdout.trim().split("\n").map((l) => JSON.parse(l));
const skipFor = (...names: string[]) => names.map((n) => skipUnlessModel(n) || skipUnlessGolden(`${n}.json`)).find(Boolean) || false;

/** Golden inputs as a .jsonl file (a string, or [a, b] for a pair). */
function jsonlOf(inputs: any[]): string {
  const path = join(mkdtempSync(join(tmpdir(), "bert-ts-families-")), "in.jsonl");
  writeFileSync(path, inputs.map((x) => JSON.stringify(x.input)).join("\n") + "\n");
  return path;
}
const nonEmpty = (x: any) => (x.is_pair ? x.input[0] : x.input).trim().length > 0;

for (const name of [DISTILBERT_SST2, ELECTRA]) {
  describe(`bert-ts classify: ${name}`, { skip: skipFor(name) }, () => {
    it("classifies every input (pairs and 512-token truncations included) with PyTorch's logits and label", () => {
      const inputs = loadGolden(`${name}.json`).inputs.filter(nonEmpty);
      const res = run(["classify", "--model", modelPath(name), "--input", jsonlOf(inputs), "--format", "jsonl"]);
      assert.equal(res.status, 0, res.stderr);
      const out = lines(res.stdout);
      assert.equal(out.length, inputs.length);
      out.forEach((o: any, i: number) => {
        assertClose(o.logits, inputs[i].outputs.seqcls.logits, 1e-4, `${name} line ${i} logits`);
        assert.equal(o.label, inputs[i].outputs.seqcls.argmax_label, `${name} line ${i} label`);
      });
    });
  });
}

describe("bert-ts embed: each family's default pooling", { skip: skipFor(MPNET, DISTILBERT, ELECTRA) }, () => {
  const cases: [string, string, string][] = [
    [MPNET, "mean_l2_normalized", "mean + L2 normalise (sentence-transformers)"],
    [DISTILBERT, "mean", "mean (sentence-transformers, no Normalize)"],
    [ELECTRA, "cls", "the raw first token (no pooler, no sentence-transformers files)"],
  ];
  for (const [name, pooled, what] of cases) {
    it(`${name}: ${what}`, () => {
      // Inputs within sentence-transformers' max_seq_length (MPNet: 384), so nothing is cut.
      const inputs = loadGolden(`${name}.json`).inputs.filter((x: any) => nonEmpty(x) && !x.is_pair && x.num_tokens <= 384);
      const res = run(["embed", "--model", modelPath(name), "--input", jsonlOf(inputs), "--format", "jsonl"]);
      assert.equal(res.status, 0, res.stderr);
      const out = lines(res.stdout);
      assert.equal(out.length, inputs.length);
      out.forEach((o: any, i: number) => assertClose(o.embedding, inputs[i].outputs.base.pooled[pooled], 1e-4, `${name} line ${i}`));
    });
  }

  it("MPNet's trained pooler on request; DistilBERT and ELECTRA have none and say so", () => {
    const input = loadGolden(`${MPNET}.json`).inputs[1];
    const res = run(["embed", "--model", modelPath(MPNET), "--pooling", "pooler", "--no-normalize", "--format", "jsonl", input.input]);
    assert.equal(res.status, 0, res.stderr);
    assertClose(JSON.parse(res.stdout).embedding, input.outputs.base.pooler_output, 1e-4, "mpnet pooler");
    for (const name of [DISTILBERT, ELECTRA]) {
      const bad = run(["embed", "--model", modelPath(name), "--pooling", "pooler", "Hello"]);
      assert.notEqual(bad.status, 0);
      assert.match(bad.stderr, /no pooler.*pooling "pooler" is unavailable; use "cls"/);
    }
  });
});

describe("bert-ts on a family checkpoint without the asked head", { skip: skipFor(DISTILBERT_SST2) }, () => {
  it("qa on a DistilBERT sentiment classifier names the missing qa_outputs tensors", () => {
    const res = run(["qa", "--model", modelPath(DISTILBERT_SST2), "--question", "Who?", "--context", "Ada wrote it."]);
    assert.notEqual(res.status, 0);
    assert.match(res.stderr, /missing weights qa_outputs\.weight \[2, 32\], qa_outputs\.bias \[2\].*DistilBertForSequenceClassification/);
  });

  it("inspect describes the family: no token types, its head and a clean load report", () => {
    const res = run(["inspect", modelPath(DISTILBERT_SST2), "--format", "json"]);
    assert.equal(res.status, 0, res.stderr);
    const r = JSON.parse(res.stdout);
    assert.deepEqual(r.tasks, ["text-classification"]);
    assert.equal(r.pooler, false);
    assert.equal(r.config.hidden_size, 32);
    assert.deepEqual(r.heads.map((h: any) => h.tensors).flat(), ["classifier.bias", "classifier.weight", "pre_classifier.bias", "pre_classifier.weight"]);
    assert.deepEqual([r.load_report.missing_keys, r.load_report.unexpected_keys], [[], []]);
  });
});

describe("bert-ts serve on MPNet (embeddings) and DistilBERT (classifier)", { skip: skipFor(MPNET, DISTILBERT_SST2) }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ model: modelPath(MPNET), classifier: modelPath(DISTILBERT_SST2), host: "127.0.0.1", port: 0 });
  });
  after(() => server?.close());

  it("POST /embed gives sentence-transformers' vectors and /predict PyTorch's softmax", async () => {
    const texts = loadGolden(`${MPNET}.json`).inputs.filter((x: any) => nonEmpty(x) && !x.is_pair && x.num_tokens <= 384).slice(0, 6);
    const res = await post(server.url, "/embed", { inputs: texts.map((x: any) => x.input) });
    assert.equal(res.status, 200, res.text);
    texts.forEach((x: any, i: number) => assertClose(res.json[i], x.outputs.base.pooled.mean_l2_normalized, 1e-4, `embed ${i}`));
    const cases = loadGolden(`${DISTILBERT_SST2}.json`).inputs.filter((x: any) => nonEmpty(x) && !x.truncated).slice(0, 6);
    const predict = await post(server.url, "/predict", { inputs: cases.map((x: any) => (typeof x.input === "string" ? [x.input] : x.input)) });
    assert.equal(predict.status, 200, predict.text);
    cases.forEach((x: any, i: number) => {
      const got = predict.json[i] as { label: string; score: number }[];
      assertClose(["NEGATIVE", "POSITIVE"].map((l) => got.find((p) => p.label === l)!.score), x.outputs.seqcls.softmax, 1e-4, `predict ${i}`);
    });
  });
});
