/**
 * Every fromPretrained finds a hub id (`org/name`) the way SentenceEncoder.load and pipeline() do:
 * BERT_TS_MODELS (`org--name/`), then the Hugging Face cache (`models--org--name/refs/main` →
 * `snapshots/<commit>/`), then the hub. Here the cache is a temp folder in huggingface_hub's
 * layout, HF_HUB_OFFLINE=1 keeps the network out, and what loads is checked against transformers.
 */
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { BertForQuestionAnswering } from "../../src/heads/question-answering.js";
import { ModelNotFoundError } from "../../src/io/hub.js";
import { BertModel } from "../../src/models/bert/model.js";
import { AutoTokenizer } from "../../src/tokenizers/auto-tokenizer.js";
import { BertTokenizer } from "../../src/tokenizers/bert-tokenizer.js";
import { RobertaTokenizer } from "../../src/tokenizers/roberta-tokenizer.js";
import { SentencePieceTokenizer } from "../../src/tokenizers/sentencepiece-tokenizer.js";
import { assertClose } from "../helpers/assert.js";
import { loadGolden, MODELS_DIR, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const COMMIT = "0123456789abcdef0123456789abcdef01234567";
const skip =
  skipUnlessModel("roberta-micro-random") ||
  skipUnlessModel("albert-micro-random") ||
  skipUnlessModel("bert-micro-qa-random") ||
  skipUnlessModel("sentence-transformers--all-MiniLM-L6-v2") ||
  skipUnlessGolden("roberta-micro-random.json");

/** A snapshot in the Hugging Face cache whose files link to a shared model folder, as huggingface_hub's do to blobs. */
function cacheModel(cache: string, id: string, folder: string): void {
  const repo = join(cache, `models--${id.replace("/", "--")}`);
  const snapshot = join(repo, "snapshots", COMMIT);
  mkdirSync(snapshot, { recursive: true });
  mkdirSync(join(repo, "refs"), { recursive: true });
  writeFileSync(join(repo, "refs", "main"), COMMIT);
  for (const f of readdirSync(modelPath(folder), { withFileTypes: true })) {
    if (f.isFile()) symlinkSync(join(modelPath(folder), f.name), join(snapshot, f.name));
  }
}

describe("fromPretrained resolves hub ids like SentenceEncoder.load", { skip }, () => {
  let cache = "";
  const saved: Record<string, string | undefined> = {};
  const env = (k: string, v: string | undefined) => {
    if (!(k in saved)) saved[k] = process.env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  };

  before(() => {
    cache = mkdtempSync(join(tmpdir(), "bert-ts-hf-cache-"));
    cacheModel(cache, "test-org/roberta-micro", "roberta-micro-random");
    cacheModel(cache, "test-org/albert-micro", "albert-micro-random");
    env("HF_HUB_CACHE", cache);
    env("HF_HUB_OFFLINE", "1");
    env("BERT_TS_MODELS", undefined);
  });

  after(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    rmSync(cache, { recursive: true, force: true });
  });

  it("BertModel.fromPretrained(id) loads the cached snapshot: last_hidden_state as transformers", async () => {
    const golden = loadGolden("roberta-micro-random.json");
    const model = await BertModel.fromPretrained("test-org/roberta-micro");
    assert.equal(model.dir, join(cache, "models--test-org--roberta-micro", "snapshots", COMMIT));
    const input = golden.inputs[0];
    const out = model.forward({ inputIds: input.input_ids });
    assertClose(out.sequence(0).data, input.outputs.base.last_hidden_state, 1e-4, "roberta-micro via the HF cache");
  });

  it("the tokenizer classes and AutoTokenizer take the same ids", async () => {
    const golden = loadGolden("roberta-micro-random.json");
    const text = golden.inputs[0].input;
    for (const tok of [await RobertaTokenizer.fromPretrained("test-org/roberta-micro"), await AutoTokenizer.fromPretrained("test-org/roberta-micro")]) {
      assert.deepEqual(tok.encode(text).inputIds, golden.inputs[0].input_ids);
    }
    const albert = loadGolden("albert-micro-random.json");
    const sp = await SentencePieceTokenizer.fromPretrained("test-org/albert-micro");
    assert.deepEqual(sp.encode(albert.inputs[0].input).inputIds, albert.inputs[0].input_ids);
  });

  it("an explicit resolve option wins over the environment (cacheDir)", async () => {
    env("HF_HUB_CACHE", join(cache, "elsewhere"));
    try {
      await assert.rejects(AutoTokenizer.fromPretrained("test-org/roberta-micro"), ModelNotFoundError);
      const tok = await AutoTokenizer.fromPretrained("test-org/roberta-micro", { resolve: { cacheDir: cache } });
      assert.equal(tok.constructor.name, "RobertaTokenizer");
    } finally {
      env("HF_HUB_CACHE", cache);
    }
  });

  it("BERT_TS_MODELS: heads load by id; a tokenizer-only folder serves tokenizers but not models", async () => {
    env("BERT_TS_MODELS", MODELS_DIR);
    try {
      const golden = loadGolden("bert-micro-qa-random.json");
      const qa = await BertForQuestionAnswering.fromPretrained("bert-micro-qa-random");
      const out = qa.forward({ inputIds: golden.inputs[0].input_ids });
      assertClose(out.startLogits(0), golden.inputs[0].outputs.qa.start_logits, 1e-4, "QA start logits via BERT_TS_MODELS");

      const tok = await BertTokenizer.fromPretrained("sentence-transformers/all-MiniLM-L6-v2");
      // all-MiniLM-L6-v2 has bert-base-uncased's vocabulary, as the QA model does.
      assert.deepEqual(tok.encode(golden.inputs[0].input).inputIds, golden.inputs[0].input_ids);
      await assert.rejects(BertModel.fromPretrained("sentence-transformers/all-MiniLM-L6-v2"), (e: Error) => {
        assert.ok(e instanceof ModelNotFoundError);
        assert.match(e.message, /sentence-transformers--all-MiniLM-L6-v2: incomplete: no .*weights/i);
        return true;
      });
    } finally {
      env("BERT_TS_MODELS", undefined);
    }
  });

  it("a missing path still names the path", async () => {
    await assert.rejects(BertModel.fromPretrained("./no/such/folder"), /no\/such\/folder/);
    await assert.rejects(BertTokenizer.fromPretrained("/nonexistent/model"), /Model folder not found: \/nonexistent\/model/);
  });
});
