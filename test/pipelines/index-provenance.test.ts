/**
 * What the corpus index records and enforces about where its vectors came from: the model's hub id,
 * revision and commit (a Hugging Face cache snapshot), the weights' sha256 from the blob name, the
 * pooling and its source, the length policy; and the prompts (sentence-transformers'
 * encode_document / encode_query rule), with a search under another query prompt refused.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import type BetterSqlite3 from "better-sqlite3";
import { CorpusIndex } from "../../src/pipelines/corpus-index.js";
import { SentenceEncoder } from "../../src/pipelines/sentence-encoder.js";
import { cosineSimilarity } from "../../src/pooling/similarity.js";
import { modelPath, skipUnlessModel } from "../helpers/paths.js";

const MINILM = "minilm-l6-h384-random";
const XLMR = "xlm-roberta-micro-random";
const tempDir = (what: string) => mkdtempSync(join(tmpdir(), `bert-ts-${what}-`));
const sha256 = (bytes: Buffer) => createHash("sha256").update(bytes).digest("hex");

/** The model folder as huggingface_hub leaves it in its cache: refs/main, snapshots/<commit>/ → ../../blobs/<etag>. */
function hfCacheCopy(folder: string, id: string, commit: string): { cacheDir: string; weightsSha: string } {
  const cacheDir = tempDir("hfcache");
  const repo = join(cacheDir, `models--${id.replace("/", "--")}`);
  mkdirSync(join(repo, "refs"), { recursive: true });
  mkdirSync(join(repo, "blobs"));
  mkdirSync(join(repo, "snapshots", commit), { recursive: true });
  writeFileSync(join(repo, "refs", "main"), commit);
  let weightsSha = "";
  const add = (rel: string) => {
    const path = join(folder, rel);
    if (statSync(path).isDirectory()) {
      mkdirSync(join(repo, "snapshots", commit, rel), { recursive: true });
      for (const name of readdirSync(path)) add(join(rel, name));
      return;
    }
    const bytes = readFileSync(path);
    // LFS files are named by their sha256; others by a git blob id (any other hex name will do here).
    const etag = rel.endsWith(".safetensors") ? sha256(bytes) : createHash("sha1").update(bytes).digest("hex");
    if (rel === "model.safetensors") weightsSha = etag;
    copyFileSync(path, join(repo, "blobs", etag));
    symlinkSync(join(...rel.split("/").map(() => ".."), "..", "blobs", etag), join(repo, "snapshots", commit, rel));
  };
  for (const name of readdirSync(folder)) add(name);
  return { cacheDir, weightsSha };
}

function storedProvenance(file: string): Record<string, unknown>[] {
  const db = new (createRequire(import.meta.url)("better-sqlite3") as typeof BetterSqlite3)(file, { readonly: true });
  try {
    return (db.prepare("SELECT json FROM provenance").all() as { json: string }[]).map((r) => JSON.parse(r.json));
  } finally {
    db.close();
  }
}

describe("corpus index provenance", { skip: skipUnlessModel(MINILM) }, () => {
  it("records the hub id, revision and commit of a cached snapshot and its weights' sha256", async () => {
    const id = "acme/minilm-test";
    const commit = "0123456789abcdef0123456789abcdef01234567";
    const { cacheDir, weightsSha } = hfCacheCopy(modelPath(MINILM), id, commit);
    const resolve = { cacheDir, modelsDir: tempDir("models"), offline: true, progress: false };

    const encoder = await SentenceEncoder.load(id, { resolve });
    const p = await encoder.provenance();
    assert.deepEqual([p.model, p.revision, p.commit, p.weights_sha256], [id, "main", commit, weightsSha]);
    assert.equal(weightsSha, sha256(readFileSync(join(modelPath(MINILM), "model.safetensors"))));
    // The model's own pooling, from its sentence-transformers files; the limit and policy in effect.
    assert.equal(p.pooling, "mean");
    assert.equal(p.pooling_source, "sentence-transformers modules.json: Pooling(mean) → Normalize");
    assert.deepEqual([p.max_length, p.long_inputs, p.prompt], [encoder.maxLength, "truncate", undefined]);
    const chosen = await encoder.provenance({ pooling: "cls", prompt: "query: " });
    assert.equal(chosen.pooling_source, "chosen per call; the model's own is mean");
    assert.equal(chosen.prompt, "query: ");

    const store = join(tempDir("store"), "s.sqlite");
    const index = await CorpusIndex.open(store, { model: id, resolve, encoder });
    await index.ingestAll([[{ id: "a", text: "a short document", source: "t:1" }]]);
    assert.deepEqual(await index.embedPending(), { embedded: 1, failed: 0 });
    await index.close();
    const [row] = storedProvenance(store);
    assert.deepEqual([row.model, row.revision, row.commit, row.weights_sha256, row.pooling, row.long_inputs], [id, "main", commit, weightsSha, "mean", "truncate"]);
    assert.equal(row.bert_ts, JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")).version);
  });
});

describe("corpus index prompts", { skip: skipUnlessModel(XLMR) }, () => {
  it("embeds documents with the model's passage prompt and queries with its query prompt; refuses another query prompt", async () => {
    const encoder = await SentenceEncoder.load(modelPath(XLMR));
    assert.deepEqual(encoder.prompts.prompts, { query: "query: ", passage: "passage: " }, "the shared folder's E5-style prompts");
    const store = join(tempDir("store"), "p.sqlite");
    const docs = ["Berlin has about 3.7 million inhabitants.", "Water boils at 100 degrees at sea level.", "Hamlet was written by Shakespeare."];
    const index = await CorpusIndex.open(store, { model: modelPath(XLMR), encoder });
    assert.deepEqual([index.space.prompt, index.space.queryPrompt], ["passage: ", "query: "]);
    await index.ingestAll([docs.map((text, i) => ({ id: `d${i}`, text, source: `t:${i}` }))]);
    await index.embedPending();

    const prompted = await encoder.embed(docs.map((d) => "passage: " + d), { prompt: "" });
    const bare = await encoder.embed(docs, { prompt: "" });
    for (let i = 0; i < docs.length; i++) {
      const [stored] = await index.store.vectorsOf(`d${i}`);
      assert.deepEqual(stored.vector, prompted[i], `d${i} is the passage-prompted text's vector`);
      assert.notDeepEqual(stored.vector, bare[i]);
    }
    const query = "how many people live in berlin?";
    const [hits] = await index.search([query], 3);
    const q = await encoder.embed("query: " + query, { prompt: "" });
    const expected = prompted.map((v, i) => ({ id: `d${i}`, score: cosineSimilarity(q, v) })).sort((a, b) => b.score - a.score);
    assert.deepEqual(hits.map((h) => h.id), expected.map((e) => e.id));
    hits.forEach((h, k) => assert.ok(Math.abs(h.score - expected[k].score) < 1e-6, `${h.id}: ${h.score} vs ${expected[k].score}`));
    const [row] = storedProvenance(store);
    assert.equal(row.prompt, "passage: ");
    await index.close();

    // A search whose queries would get another prompt is refused, naming the field.
    await assert.rejects(
      CorpusIndex.open(store, { model: modelPath(XLMR), encoder, searchOnly: true, prompt: "passage: ", queryPrompt: "" }),
      /queryPrompt: "query: " in the store, "" asked/,
    );
    // So is adding documents under another document prompt (no mixing within one store).
    await assert.rejects(CorpusIndex.open(store, { model: modelPath(XLMR), encoder, prompt: "" }), /prompt: "passage: " in the store, "" asked/);
    // Chunked windows cannot carry a prompt yet: said before anything is written.
    await assert.rejects(CorpusIndex.open(join(tempDir("store"), "c.sqlite"), { model: modelPath(XLMR), encoder, longInputs: "chunk" }), /document prompt "passage: " cannot be combined with long inputs "chunk"/);
  });
});
