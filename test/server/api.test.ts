/**
 * The HTTP API as clients see it: a real server on loopback, requests with fetch in the bodies TEI
 * and OpenAI clients send, answers checked against PyTorch's (../shared/golden) — embeddings,
 * token vectors, classifier scores, tokenisation — and the response shapes of both APIs.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { RunningServer } from "../../src/server/app.js";
import { assertClose } from "../helpers/assert.js";
import { loadGolden, modelPath } from "../helpers/paths.js";
import { MINILM, SEQCLS, call, post, skipUnlessServerModels, startTestServer } from "./helpers.js";

describe("bert-ts serve: API", { skip: skipUnlessServerModels() }, () => {
  let server: RunningServer;
  let url: string;
  let minilm: any[];
  let seqcls: any[];
  /** Golden single texts the embedding model takes whole (its limit is 256 tokens). */
  let texts: any[];

  before(async () => {
    server = await startTestServer();
    url = server.url;
    minilm = loadGolden(`${MINILM}.json`).inputs;
    seqcls = loadGolden(`${SEQCLS}.json`).inputs;
    // "" is refused by the server, as TEI and OpenAI refuse it (test/server/tei-compat.test.ts).
    texts = minilm.filter((x) => typeof x.input === "string" && x.input !== "" && !x.truncated);
  });
  after(() => server?.close());

  it("POST /embed (TEI body) gives sentence-transformers' normalised mean vectors", async () => {
    const res = await post(url, "/embed", { inputs: texts.map((x) => x.input) });
    assert.equal(res.status, 200);
    assert.equal(res.json.length, texts.length);
    texts.forEach((x, i) => assertClose(res.json[i], x.outputs.base.pooled.mean_l2_normalized, 1e-4, `embed ${i}`));
    const one = await post(url, "/embed", { inputs: texts[1].input, normalize: false, truncate: false });
    assert.equal(one.json.length, 1, "a single string gives [[...]]");
    assertClose(one.json[0], texts[1].outputs.base.pooled.mean, 1e-4, "normalize: false");
  });

  it("POST /embed takes pooling and dimensions per request (truncate, then normalise)", async () => {
    const picked = texts.slice(0, 3);
    const inputs = picked.map((x) => x.input);
    const cls = await post(url, "/embed", { inputs, pooling: "cls" });
    assert.equal(cls.status, 200);
    picked.forEach((x, i) => assertClose(cls.json[i], x.outputs.base.pooled.cls_l2_normalized, 1e-4, `cls ${i}`));
    const concat = await post(url, "/embed", { inputs, pooling: "cls_mean", normalize: false, dimensions: 700 });
    picked.forEach((x, i) => assertClose(concat.json[i], x.outputs.base.pooled.cls_mean_concat.slice(0, 700), 1e-4, `cls_mean ${i}`));
    const pooler = await post(url, "/embed", { inputs, pooling: "pooler", normalize: false });
    picked.forEach((x, i) => assertClose(pooler.json[i], x.outputs.base.pooler_output, 1e-4, `pooler ${i}`));
    const short = await post(url, "/embed", { inputs, dimensions: 32 });
    picked.forEach((x, i) => {
      const head = x.outputs.base.pooled.mean.slice(0, 32) as number[];
      const n = Math.hypot(...head);
      assertClose(short.json[i], head.map((v) => v / n), 1e-4, `dimensions 32, ${i}`);
    });
    const tooMany = await post(url, "/embed", { inputs, dimensions: 385 });
    assert.equal(tooMany.status, 422);
    assert.match(tooMany.json.error, /`dimensions` 385 is more than the model's 384/);
    const unknown = await post(url, "/embed", { inputs, pooling: "median" });
    assert.equal(unknown.status, 422);
    assert.match(unknown.json.error, /pooling/);
  });

  it("POST /embed_all gives every token's last hidden state", async () => {
    const picked = texts.slice(0, 3);
    const res = await post(url, "/embed_all", { inputs: picked.map((x) => x.input) });
    assert.equal(res.status, 200);
    picked.forEach((x, i) => {
      assert.equal(res.json[i].length, x.num_tokens);
      assertClose(res.json[i].flat(), x.outputs.base.last_hidden_state, 1e-4, `embed_all ${i}`);
    });
  });

  it("POST /predict gives PyTorch's softmax (or raw logits), best first, for texts and pairs", async () => {
    const cases = seqcls.filter((x) => !x.truncated).slice(0, 6);
    const batch = cases.map((x) => (typeof x.input === "string" ? [x.input] : x.input));
    for (const raw of [false, true]) {
      const res = await post(url, "/predict", { inputs: batch, raw_scores: raw });
      assert.equal(res.status, 200);
      cases.forEach((x, i) => {
        const expected = raw ? x.outputs.seqcls.logits : x.outputs.seqcls.softmax;
        const labels = ["negative", "neutral", "positive"];
        const got = res.json[i] as { label: string; score: number }[];
        assert.deepEqual(got.map((p) => p.score), [...got.map((p) => p.score)].sort((a, b) => b - a), "sorted best first");
        assertClose(labels.map((l) => got.find((p) => p.label === l)!.score), expected, 1e-4, `predict ${i} raw=${raw}`);
        if (!raw) assert.equal(got[0].label, x.outputs.seqcls.argmax_label);
      });
    }
    const pair = seqcls.find((x) => Array.isArray(x.input) && !x.truncated);
    const single = await post(url, "/predict", { inputs: pair.input });
    assert.equal(single.json.length, 3, "a [text, text] pair is one input: [{label, score}]");
    assert.equal(single.json[0].label, pair.outputs.seqcls.argmax_label);
  });

  it("POST /tokenize and /decode agree with the tokenizer goldens; offsets are UTF-8 bytes", async () => {
    const res = await post(url, "/tokenize", { inputs: texts.slice(0, 8).map((x) => x.input) });
    assert.equal(res.status, 200);
    texts.slice(0, 8).forEach((x, i) => {
      assert.deepEqual(res.json[i].map((t: any) => t.id), x.input_ids);
      assert.deepEqual(res.json[i].map((t: any) => t.special), x.special_tokens_mask.map((m: number) => m === 1));
    });
    const cafe = await post(url, "/tokenize", { inputs: "Café 🍕!", add_special_tokens: false });
    assert.deepEqual(cafe.json, [
      [
        { id: 7668, text: "Café", special: false, start: 0, stop: 5 },
        { id: 100, text: "🍕", special: false, start: 6, stop: 10 },
        { id: 999, text: "!", special: false, start: 10, stop: 11 },
      ],
    ]);
    // Without [UNK]s, skipping special tokens only drops [CLS] and [SEP].
    const known = texts.filter((x) => !x.input_ids.includes(100)).slice(0, 3);
    const dec = await post(url, "/decode", { ids: known.map((x) => x.input_ids) });
    assert.equal(dec.status, 200);
    assert.deepEqual(dec.json, known.map((x) => x.decoded.replace(/^\[CLS\] | \[SEP\]$/g, "")));
    const keep = await post(url, "/decode", { ids: texts[1].input_ids, skip_special_tokens: false });
    assert.deepEqual(keep.json, [texts[1].decoded]);
  });

  it("POST /v1/embeddings (OpenAI body): float and base64 vectors, usage, dimensions", async () => {
    const input = texts.slice(0, 4).map((x) => x.input);
    const res = await post(url, "/v1/embeddings", { model: "text-embedding-3-small", input, encoding_format: "float" });
    assert.equal(res.status, 200);
    assert.equal(res.json.object, "list");
    assert.equal(res.json.model, MINILM);
    const tokens = texts.slice(0, 4).reduce((n, x) => n + x.num_tokens, 0);
    assert.deepEqual(res.json.usage, { prompt_tokens: tokens, total_tokens: tokens });
    res.json.data.forEach((d: any, i: number) => {
      assert.equal(d.object, "embedding");
      assert.equal(d.index, i);
      assertClose(d.embedding, texts[i].outputs.base.pooled.mean_l2_normalized, 1e-4, `openai ${i}`);
    });
    const b64 = await post(url, "/v1/embeddings", { model: "m", input: input[0], encoding_format: "base64" });
    const bytes = Buffer.from(b64.json.data[0].embedding, "base64");
    const decoded = Array.from({ length: bytes.length / 4 }, (_, k) => bytes.readFloatLE(4 * k));
    assert.deepEqual(decoded, res.json.data[0].embedding, "base64 = little-endian float32 of the same vector");
    const small = await post(url, "/v1/embeddings", { input: input[0], dimensions: 64 });
    const v = small.json.data[0].embedding as number[];
    const head = texts[0].outputs.base.pooled.mean.slice(0, 64) as number[];
    assertClose(v, head.map((x) => x / Math.hypot(...head)), 1e-4, "the first 64 components, re-normalised");
    const ids = await post(url, "/v1/embeddings", { input: [texts[1].input_ids] });
    assert.deepEqual(ids.json.data[0].embedding, res.json.data[1].embedding, "token ids embed like their text");
  });

  it("over-long inputs: 413 by default, truncated from the right or the left when asked", async () => {
    const long = minilm.find((x) => typeof x.input === "string" && x.truncated).input as string;
    const refused = await post(url, "/embed", { inputs: long });
    assert.equal(refused.status, 413);
    assert.equal(refused.json.error_type, "validation");
    assert.match(refused.json.error, /must have less than 256 tokens/);
    const tokens = (await post(url, "/tokenize", { inputs: long })).json[0].map((t: any) => t.id) as number[];
    const right = await post(url, "/embed", { inputs: long, truncate: true });
    const left = await post(url, "/embed", { inputs: long, truncate: true, truncation_direction: "Left" });
    const keepFirst = [tokens[0], ...tokens.slice(1, 255), tokens[tokens.length - 1]];
    const keepLast = [tokens[0], ...tokens.slice(tokens.length - 255, tokens.length - 1), tokens[tokens.length - 1]];
    const byIds = await post(url, "/v1/embeddings", { input: [keepFirst, keepLast] });
    assert.deepEqual(right.json[0], byIds.json.data[0].embedding, "right truncation keeps the first 254 word pieces");
    assert.deepEqual(left.json[0], byIds.json.data[1].embedding, "left truncation keeps the last 254 word pieces");
  });

  it("GET /info, /health and /metrics", async () => {
    const info = await call(url, "/info");
    assert.equal(info.status, 200);
    assert.equal(info.json.model_id, MINILM);
    assert.deepEqual(info.json.model_type, { embedding: { pooling: "mean" } });
    assert.equal(info.json.max_input_length, 256);
    assert.equal(info.json.max_batch_tokens, 16384);
    assert.equal(info.json.max_client_batch_size, 32);
    assert.equal(info.json.bert_ts.embedding.random_weights, true);
    assert.deepEqual(info.json.bert_ts.classifier.labels, ["negative", "neutral", "positive"]);
    const health = await call(url, "/health");
    assert.equal(health.status, 200);
    const metrics = await call(url, "/metrics");
    assert.equal(metrics.status, 200);
    assert.match(metrics.headers.get("content-type") ?? "", /text\/plain/);
    for (const name of ["bert_ts_http_requests_total", "bert_ts_http_request_duration_seconds_bucket", "bert_ts_batch_inputs_bucket", "bert_ts_queue_requests", "bert_ts_tokens_total", "bert_ts_process_resident_memory_bytes"]) {
      assert.ok(metrics.text.includes(name), `metrics has ${name}`);
    }
  });

  it("/info fills model_sha with the weights' sha256; each response names its provenance in x-bert-ts-provenance", async () => {
    const sha = (name: string) => createHash("sha256").update(readFileSync(join(modelPath(name), "model.safetensors"))).digest("hex");
    const info = (await call(url, "/info")).json;
    assert.equal(info.model_sha, sha(MINILM));
    assert.equal(info.bert_ts.embedding.provenance.weights_sha256, sha(MINILM));
    assert.equal(info.bert_ts.classifier.provenance.weights_sha256, sha(SEQCLS));
    const picked = texts.slice(0, 2);
    const tokens = picked.reduce((n, x) => n + x.num_tokens, 0);
    const embed = await post(url, "/embed", { inputs: picked.map((x) => x.input), pooling: "cls", dimensions: 100, normalize: false });
    const p = JSON.parse(embed.headers.get("x-bert-ts-provenance") ?? "null");
    assert.deepEqual(
      [p.weights_sha256, p.architecture, p.pooling, p.layers, p.normalize, p.dimensions, p.tokens, p.bert_ts],
      [sha(MINILM), "BertModel", "cls", "last", false, 100, tokens, info.version],
    );
    const openai = await post(url, "/v1/embeddings", { input: picked.map((x) => x.input) });
    const q = JSON.parse(openai.headers.get("x-bert-ts-provenance") ?? "null");
    assert.deepEqual([q.pooling, q.normalize, q.tokens], ["mean", true, tokens]);
    const predict = await post(url, "/predict", { inputs: "hello" });
    const r = JSON.parse(predict.headers.get("x-bert-ts-provenance") ?? "null");
    assert.deepEqual([r.weights_sha256, r.architecture, r.tokens], [sha(SEQCLS), "BertForSequenceClassification", 3]);
  });

  it("/metrics counters move by exactly the traffic sent", async () => {
    const counter = (text: string, series: string): number => {
      const line = text.split("\n").find((l) => l.startsWith(series + " "));
      return line === undefined ? 0 : Number(line.slice(series.length + 1));
    };
    const embedOk = 'bert_ts_http_requests_total{route="/embed",method="POST",status="200"}';
    const embed422 = 'bert_ts_http_requests_total{route="/embed",method="POST",status="422"}';
    const tokens = 'bert_ts_tokens_total{model="embedding"}';
    const inputs = 'bert_ts_inputs_total{model="embedding"}';
    const before = (await call(url, "/metrics")).text;
    const sent = texts.slice(0, 5);
    for (const x of sent.slice(0, 3)) assert.equal((await post(url, "/embed", { inputs: x.input })).status, 200);
    assert.equal((await post(url, "/embed", { inputs: sent.slice(3).map((x) => x.input) })).status, 200);
    assert.equal((await post(url, "/embed", { inputs: "a", dimensions: 9999 })).status, 422);
    const after = (await call(url, "/metrics")).text;
    assert.equal(counter(after, embedOk) - counter(before, embedOk), 4, "four successful /embed requests");
    assert.equal(counter(after, embed422) - counter(before, embed422), 1, "one refused /embed request");
    assert.equal(counter(after, inputs) - counter(before, inputs), 5, "five sequences through the model");
    const expectedTokens = sent.reduce((n, x) => n + x.num_tokens, 0);
    assert.equal(counter(after, tokens) - counter(before, tokens), expectedTokens, "every token of the five inputs, [CLS]/[SEP] included");
  });
});

describe("bert-ts serve: API key", { skip: skipUnlessServerModels() }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startTestServer({ apiKey: "s3cret", classifier: undefined });
  });
  after(() => server?.close());

  it("needs `Authorization: Bearer <key>` except on /health, /metrics and the page", async () => {
    const url = server.url;
    const missing = await post(url, "/embed", { inputs: "hi" });
    assert.equal(missing.status, 401);
    assert.deepEqual(Object.keys(missing.json).sort(), ["error", "error_type"]);
    assert.equal((await post(url, "/embed", { inputs: "hi" }, { authorization: "Bearer wrong" })).status, 401);
    const openai = await post(url, "/v1/embeddings", { input: "hi" }, { authorization: "Bearer nope" });
    assert.equal(openai.status, 401);
    assert.equal(openai.json.error.type, "authentication_error", "OpenAI routes answer in OpenAI's error shape");
    assert.equal((await post(url, "/embed", { inputs: "hi" }, { authorization: "Bearer s3cret" })).status, 200);
    assert.equal((await call(url, "/info")).status, 401);
    for (const open of ["/health", "/ping", "/metrics", "/"]) assert.equal((await call(url, open)).status, 200, open);
    // The page is open to read; POST / is inference (TEI's entry point) and is not.
    for (const path of ["/", "/invocations", "/similarity", "/embeddings"]) assert.equal((await post(url, path, { inputs: "hi" })).status, 401, `POST ${path}`);
    assert.equal((await call(url, "/v1/models")).status, 401);
  });
});
