/** `bert-ts inspect` as a user runs it, checked against the files themselves; and model-resolution errors through the CLI. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { MODELS_DIR, REPO_ROOT, modelPath, skipUnlessModel } from "../helpers/paths.js";

const BIN = join(REPO_ROOT, "bin", "bert-ts.js");
const MINILM = "minilm-l6-h384-random";
const PRETRAINING = "bert-tiny-pretraining-random";
const SEQCLS = "bert-micro-seqcls-random";
const QA = "bert-micro-qa-random";
const ST_MINILM = "sentence-transformers--all-MiniLM-L6-v2";

function run(args: string[], env: Record<string, string> = {}) {
  return spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...process.env, BERT_TS_BACKEND: "", ...env } });
}

function inspectJson(name: string): any {
  const res = run(["inspect", modelPath(name), "--format", "json"]);
  assert.equal(res.status, 0, res.stderr);
  return JSON.parse(res.stdout);
}

/** Elements per tensor, summed over a safetensors file's header: an independent parameter count. */
function headerParameters(file: string): { total: number; dtypes: Set<string> } {
  const bytes = readFileSync(file);
  const len = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + len).toString("utf8")) as Record<string, { dtype: string; shape: number[] }>;
  let total = 0;
  const dtypes = new Set<string>();
  for (const [name, t] of Object.entries(header)) {
    if (name === "__metadata__") continue;
    total += t.shape.reduce((a, b) => a * b, 1);
    dtypes.add(t.dtype);
  }
  return { total, dtypes };
}

describe("bert-ts inspect", { skip: skipUnlessModel(MINILM) || skipUnlessModel(PRETRAINING) || skipUnlessModel(SEQCLS) }, () => {
  it("reports all-MiniLM-L6-v2's shape, stored float16 weights, parameter count and sentence-transformers pooling", () => {
    const r = inspectJson(MINILM);
    const header = headerParameters(join(modelPath(MINILM), "model.safetensors"));
    assert.equal(r.parameters.total, header.total);
    assert.equal(r.parameters.embeddings + r.parameters.encoder + r.parameters.pooler + r.parameters.heads, header.total);
    assert.equal(r.config.architectures[0], "BertModel");
    assert.equal(r.config.model_type, "bert");
    assert.deepEqual(
      [r.config.hidden_size, r.config.num_hidden_layers, r.config.num_attention_heads, r.config.intermediate_size, r.config.vocab_size, r.config.max_position_embeddings],
      [384, 6, 12, 1536, 30522, 512],
    );
    assert.equal(r.config.hidden_act, "gelu");
    assert.equal(r.weights.dtype, "float16");
    assert.deepEqual(r.weights.files.map((f: any) => f.file), ["model.safetensors"]);
    assert.equal(r.weights.files[0].bytes, readFileSync(join(modelPath(MINILM), "model.safetensors")).length);
    assert.deepEqual(r.tokenizer, { kind: "WordPiece", file: "tokenizer.json", vocab_size: 30522, model_max_length: 512 });
    assert.equal(r.pooling.strategy, "mean");
    assert.equal(r.pooling.normalize, true);
    assert.match(r.pooling.source, /modules\.json/);
    assert.equal(r.pooling.max_length, 256);
    assert.equal(r.pooling.dimension, 384);
    assert.deepEqual(r.heads, []);
    assert.equal(r.pooler, true);
    assert.deepEqual([r.load_report.missing_keys, r.load_report.unexpected_keys], [[], []]);
    assert.equal(r.random_weights, true);
    assert.equal(r.generated.dtype, "float16");
    assert.match(r.backend, /^(native|reference)/);
    assert.ok(r.files.some((f: any) => f.file === "1_Pooling/config.json"));
  });

  it("finds the MLM and NSP heads of a BertForPreTraining checkpoint", () => {
    const r = inspectJson(PRETRAINING);
    assert.equal(r.parameters.total, headerParameters(join(modelPath(PRETRAINING), "model.safetensors")).total);
    assert.deepEqual(r.heads.map((h: any) => h.kind).sort(), ["masked-lm", "next-sentence"]);
    const mlm = r.heads.find((h: any) => h.kind === "masked-lm");
    assert.match(mlm.note, /tied to the word embeddings/);
    assert.deepEqual(r.heads.find((h: any) => h.kind === "next-sentence").tensors, ["cls.seq_relationship.bias", "cls.seq_relationship.weight"]);
    assert.deepEqual(r.tasks, ["fill-mask", "next-sentence"]);
    assert.equal(r.load_report.as, "BertForPreTraining");
    assert.deepEqual([r.load_report.missing_keys, r.load_report.unexpected_keys], [[], []]);
    assert.equal(r.weights.dtype, "float32");
    assert.equal(r.tokenizer.file, "vocab.txt");
    assert.equal(r.pooling.strategy, "pooler");

    const text = run(["inspect", modelPath(PRETRAINING)]);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /MLM/);
    assert.match(text.stdout, /NSP/);
    assert.match(text.stdout, /parameters\s+4,433,468 /);
    assert.match(text.stdout, /layers 2/);
  });

  it("names a sequence classifier's labels and its bfloat16 storage", () => {
    const r = inspectJson(SEQCLS);
    assert.equal(r.parameters.total, headerParameters(join(modelPath(SEQCLS), "model.safetensors")).total);
    assert.equal(r.heads.length, 1);
    assert.equal(r.heads[0].kind, "sequence-classification");
    assert.deepEqual(r.heads[0].labels, ["negative", "neutral", "positive"]);
    assert.equal(r.heads[0].parameters, 3 * 64 + 3);
    assert.equal(r.weights.dtype, "bfloat16");
    assert.deepEqual([r.load_report.missing_keys, r.load_report.unexpected_keys], [[], []]);
    const text = run(["inspect", modelPath(SEQCLS), "--no-files"]);
    assert.match(text.stdout, /sequence classifier, 3 labels: negative, neutral, positive/);
    assert.match(text.stdout, /bfloat16/);
    assert.doesNotMatch(text.stdout, /^files:/m);
  });

  it("counts sharded checkpoints over every shard and recognises a QA head", { skip: skipUnlessModel(QA) }, () => {
    const r = inspectJson(QA);
    const total = ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
      .map((f) => headerParameters(join(modelPath(QA), f)).total)
      .reduce((a, b) => a + b, 0);
    assert.equal(r.parameters.total, total);
    assert.equal(r.weights.files.length, 2);
    assert.ok(r.heads.some((h: any) => h.kind === "question-answering"));
  });

  it("fails clearly on a folder that is not a model, with help that shows examples", () => {
    const empty = mkdtempSync(join(tmpdir(), "bert-ts-inspect-"));
    const res = run(["inspect", empty]);
    assert.notEqual(res.status, 0);
    assert.match(res.stderr, /no config\.json/);
    const help = run(["inspect", "--help"]);
    assert.equal(help.status, 0);
    assert.match(help.stdout, /Examples:/);
  });
});

describe("the default model offline, through the CLI", { skip: skipUnlessModel(ST_MINILM) }, () => {
  // all-MiniLM-L6-v2's real tokenizer and config are here, but not its weights, and there is no hub.
  const env = () => ({ HF_HUB_OFFLINE: "1", BERT_TS_MODELS: MODELS_DIR, HF_HUB_CACHE: mkdtempSync(join(tmpdir(), "bert-ts-hf-")) });

  for (const args of [["embed", "text"], ["similarity", "a", "b"], ["search", "--corpus", join(REPO_ROOT, "package.json"), "-q", "x"], ["inspect", "sentence-transformers/all-MiniLM-L6-v2"]]) {
    it(`bert-ts ${args[0]} says where it looked and why nothing was usable`, () => {
      const res = run(args, env());
      assert.equal(res.status, 1, res.stderr);
      assert.match(res.stderr, /^bert-ts: Cannot find model "sentence-transformers\/all-MiniLM-L6-v2"\. Looked in:/);
      assert.match(res.stderr, /models dir .*sentence-transformers--all-MiniLM-L6-v2: incomplete: no weights/);
      assert.match(res.stderr, /not tried: offline/);
      if (args[0] !== "embed") assert.match(res.stderr, /To fix: run once with network access \(unset HF_HUB_OFFLINE\)/);
      assert.doesNotMatch(res.stderr, /\n\s+at /, "no stack trace");
    });
  }
});
