/**
 * TEI's retrieval routes on a real server: POST /rerank (cross-encoder) and POST /embed_sparse
 * (SPLADE), and `prompt_name` on /embed — answers checked against PyTorch (../shared/golden).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { RunningServer } from "../../src/server/app.js";
import { startServer } from "../../src/server/app.js";
import { assertClose } from "../helpers/assert.js";
import { overlayModel } from "../helpers/overlay.js";
import { loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";
import { MINILM, SEQCLS, post } from "./helpers.js";

const CE = "bert-micro-cross-encoder-random";
const SPLADE = "bert-micro-splade-random";
const weightsSha = (name: string) => createHash("sha256").update(readFileSync(join(modelPath(name), "model.safetensors"))).digest("hex");
const provenanceOf = (res: { headers: Headers }) => JSON.parse(res.headers.get("x-bert-ts-provenance") ?? "null");
const skip = skipUnlessModel(CE) || skipUnlessModel(SPLADE) || skipUnlessModel(MINILM) || skipUnlessGolden(`${CE}.json`) || skipUnlessGolden(`${SPLADE}.json`) || skipUnlessGolden(`${MINILM}.json`);

describe("bert-ts serve: /rerank and prompt_name", { skip }, () => {
  let server: RunningServer;
  before(async () => {
    const minilm = overlayModel(MINILM, { "config_sentence_transformers.json": { prompts: { lead: "The quick " }, default_prompt_name: null } });
    server = await startServer({ model: minilm, classifier: modelPath(CE), host: "127.0.0.1", port: 0, autoTruncate: true });
  });
  after(() => server?.close());

  it("POST /rerank ranks the texts for the query as PyTorch scores them: TEI's shape, raw_scores, return_text", async () => {
    const query = "what is the boiling point of water at sea level";
    const refs = (loadGolden(`${CE}.json`).inputs as any[]).filter((x) => x.input[0] === query);
    const texts = refs.map((x) => x.input[1]);
    const expected = refs.map((x, index) => ({ index, sigmoid: x.outputs.rerank.sigmoid, logit: x.outputs.rerank.score })).sort((a, b) => b.logit - a.logit);
    const res = await post(server.url, "/rerank", { query, texts });
    assert.equal(res.status, 200, res.text);
    assert.deepEqual(res.json.map((r: any) => r.index), expected.map((e) => e.index));
    assert.deepEqual(Object.keys(res.json[0]), ["index", "score"]);
    assertClose(res.json.map((r: any) => r.score), expected.map((e) => e.sigmoid), 1e-4, "sigmoid");
    const raw = await post(server.url, "/rerank", { query, texts, raw_scores: true, return_text: true });
    assertClose(raw.json.map((r: any) => r.score), expected.map((e) => e.logit), 1e-4, "raw");
    raw.json.forEach((r: any) => assert.equal(r.text, texts[r.index]));
    // Where the scores came from: the cross-encoder's weights, and the pairs' tokens (PyTorch's count).
    const p = provenanceOf(res);
    assert.deepEqual([p.weights_sha256, p.architecture, p.tokens], [weightsSha(CE), "BertForSequenceClassification", refs.reduce((n, x) => n + x.num_tokens, 0)]);
  });

  it("POST /rerank truncates a long pair when asked, and validates like TEI", async () => {
    const long = (loadGolden(`${CE}.json`).inputs as any[]).find((x) => x.truncated);
    const res = await post(server.url, "/rerank", { query: long.input[0], texts: [long.input[1]], truncate: true, raw_scores: true });
    assert.equal(res.status, 200, res.text);
    assertClose([res.json[0].score], [long.outputs.rerank.score], 1e-4, "truncated pair");
    assert.equal((await post(server.url, "/rerank", { query: long.input[0], texts: [long.input[1]], truncate: false })).status, 413);
    const empty = await post(server.url, "/rerank", { query: "q", texts: [] });
    assert.equal(empty.status, 400);
    assert.match(empty.json.error, /`texts` cannot be empty/);
    assert.equal((await post(server.url, "/rerank", { query: "q" })).status, 422);
    assert.equal((await post(server.url, "/embed_sparse", { inputs: "q" })).status, 400);
  });

  it("prompt_name on /embed puts the model's prompt first (PyTorch's vector of prompt + text)", async () => {
    const g = loadGolden(`${MINILM}.json`).inputs[1];
    const res = await post(server.url, "/embed", { inputs: "brown fox jumps over the lazy dog.", prompt_name: "lead" });
    assert.equal(res.status, 200, res.text);
    assertClose(res.json[0], g.outputs.base.pooled.mean_l2_normalized, 1e-4, "prompted");
    const p = provenanceOf(res);
    assert.deepEqual([p.prompt, p.tokens, p.pooling], ["The quick ", g.num_tokens, "mean"]);
    assert.equal(provenanceOf(await post(server.url, "/embed", { inputs: "no prompt" })).prompt, undefined, "no prompt, no field");
    const cls = provenanceOf(await post(server.url, "/embed", { inputs: "x", pooling: "cls" }));
    assert.deepEqual([cls.pooling, cls.pooling_source], ["cls", "chosen per request; the model's own is mean"]);
    const bad = await post(server.url, "/embed", { inputs: "x", prompt_name: "query" });
    assert.equal(bad.status, 422);
    assert.match(bad.json.error, /Unknown prompt name "query": the model's prompts are lead/);
  });
});

describe("bert-ts serve --pooling splade: /embed_sparse", { skip: skip || skipUnlessModel(SEQCLS) }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startServer({ model: modelPath(SPLADE), sparse: true, classifier: modelPath(SEQCLS), host: "127.0.0.1", port: 0 });
  });
  after(() => server?.close());

  it("gives PyTorch's SPLADE vectors as TEI's [{index, value}] lists, indices ascending", async () => {
    const inputs = (loadGolden(`${SPLADE}.json`).inputs as any[]).filter((x) => typeof x.input === "string" && !x.truncated).slice(0, 6);
    const res = await post(server.url, "/embed_sparse", { inputs: inputs.map((x) => x.input) });
    assert.equal(res.status, 200, res.text);
    inputs.forEach((x, i) => {
      const got = new Float32Array(30522);
      const want = new Float32Array(30522);
      res.json[i].forEach((e: { index: number; value: number }, k: number) => {
        assert.ok(k === 0 || e.index > res.json[i][k - 1].index);
        got[e.index] = e.value;
      });
      x.outputs.splade.splade.indices.forEach((id: number, k: number) => (want[id] = x.outputs.splade.splade.values[k]));
      assertClose(got, want, 1e-4, `input ${i}`);
    });
    const p = provenanceOf(res);
    assert.deepEqual([p.weights_sha256, p.pooling, p.normalize, p.tokens], [weightsSha(SPLADE), "splade", false, inputs.reduce((n, x) => n + x.num_tokens, 0)]);
  });

  it("refuses /embed and /rerank with what to use instead", async () => {
    const embed = await post(server.url, "/embed", { inputs: "x" });
    assert.equal(embed.status, 400);
    assert.match(embed.json.error, /served as SPLADE .*use \/embed_sparse/);
    const rerank = await post(server.url, "/rerank", { query: "q", texts: ["t"] });
    assert.equal(rerank.status, 400);
    assert.match(rerank.json.error, /\/rerank needs a cross-encoder with one output; the classifier has 3 labels/);
  });
});
