/**
 * The server as text-embeddings-inference's and OpenAI's clients find it: POST / and /invocations
 * answering by the model's kind, /similarity, /embeddings, /ping, /v1/models, token-id inputs,
 * TEI's response headers and te_* metrics, CORS, readable 422s, the empty string and the empty
 * list refused alike, and model ids that are never the server's paths. Vectors and scores are held
 * to the PyTorch goldens.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { startServer, type RunningServer } from "../../src/server/app.js";
import { assertClose } from "../helpers/assert.js";
import { loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";
import { MINILM, SEQCLS, call, post, skipUnlessServerModels, startTestServer } from "./helpers.js";

const CE = "bert-micro-cross-encoder-random";

function cosine(a: number[], b: number[]): number {
  const dot = a.reduce((s, x, i) => s + x * b[i], 0);
  return dot / Math.sqrt(a.reduce((s, x) => s + x * x, 0) * b.reduce((s, x) => s + x * x, 0));
}

const codePoints = (s: string) => [...s].length;

describe("bert-ts serve: TEI and OpenAI routes as their clients use them", { skip: skipUnlessServerModels() }, () => {
  let server: RunningServer;
  let url: string;
  let texts: any[];
  before(async () => {
    server = await startTestServer();
    url = server.url;
    texts = (loadGolden(`${MINILM}.json`).inputs as any[]).filter((x) => typeof x.input === "string" && x.input.trim() !== "" && !x.truncated);
  });
  after(() => server?.close());

  it("POST / and /invocations embed like /embed; a {source_sentence, sentences} body is /similarity", async () => {
    const inputs = texts.slice(0, 3).map((x) => x.input);
    for (const path of ["/", "/invocations"]) {
      const res = await post(url, path, { inputs });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.headers.get("x-bert-ts-route"), "/embed");
      texts.slice(0, 3).forEach((x, i) => assertClose(res.json[i], x.outputs.base.pooled.mean_l2_normalized, 1e-4, `${path} ${i}`));
    }
    const sim = await post(url, "/", { inputs: { source_sentence: texts[0].input, sentences: [texts[1].input, texts[2].input] } });
    assert.equal(sim.status, 200, sim.text);
    assert.equal(sim.headers.get("x-bert-ts-route"), "/similarity");
    const g = texts.slice(0, 3).map((x) => x.outputs.base.pooled.mean as number[]);
    assertClose(sim.json, [cosine(g[0], g[1]), cosine(g[0], g[2])], 1e-4, "similarity on /");
    const bad = await post(url, "/", { inputs: 5 });
    assert.equal(bad.status, 422);
    assert.match(bad.json.error, /^Invalid request \(\/ serves \/embed for this model\): `inputs` must be a string, a list of token ids, or a list of strings and\/or lists of token ids \(got 5\)/);
  });

  it("POST /similarity: TEI's request and response, cosine of PyTorch's vectors", async () => {
    const [a, ...others] = texts.slice(0, 5);
    const res = await post(url, "/similarity", { inputs: { source_sentence: a.input, sentences: others.map((x) => x.input) }, parameters: { truncate: true } });
    assert.equal(res.status, 200, res.text);
    assertClose(res.json, others.map((x) => cosine(a.outputs.base.pooled.mean, x.outputs.base.pooled.mean)), 1e-4, "cosines");
    const empty = await post(url, "/similarity", { inputs: { source_sentence: "a", sentences: [] } });
    assert.deepEqual([empty.status, empty.json.error_type, empty.json.error], [400, "empty", "`inputs.sentences` cannot be empty"]);
    const tooMany = await post(url, "/similarity", { inputs: { source_sentence: "a", sentences: Array.from({ length: 32 }, () => "b") } });
    assert.deepEqual([tooMany.status, tooMany.json.error], [413, "batch size 33 > maximum allowed batch size 32"]);
    assert.equal((await post(url, "/similarity", { inputs: { sentences: ["b"] } })).json.error, "Invalid request: `inputs.source_sentence` is required");
  });

  it("token ids on /embed: one list, or a batch mixing texts and lists; checked against the vocabulary per request", async () => {
    const [a, b] = texts;
    const one = await post(url, "/embed", { inputs: a.input_ids });
    assert.equal(one.status, 200, one.text);
    assert.equal(one.json.length, 1, "a list of numbers is one input");
    assertClose(one.json[0], a.outputs.base.pooled.mean_l2_normalized, 1e-4, "ids");
    const mixed = await post(url, "/embed", { inputs: [b.input_ids, a.input, [...a.input_ids]] });
    assert.equal(mixed.status, 200, mixed.text);
    assertClose(mixed.json[0], b.outputs.base.pooled.mean_l2_normalized, 1e-4, "ids in a batch");
    assertClose(mixed.json[1], a.outputs.base.pooled.mean_l2_normalized, 1e-4, "text in a batch");
    assert.deepEqual(mixed.json[2], one.json[0]);
    const outside = await post(url, "/embed", { inputs: ["fine", [101, 7592, 30522, 102]] });
    assert.deepEqual([outside.status, outside.json.error_type], [422, "validation"]);
    assert.equal(outside.json.error, "Input validation error: `inputs[1]` token 2 is id 30522, outside the model's vocabulary (0..30521)");
    const openai = await post(url, "/v1/embeddings", { input: [a.input_ids] });
    assertClose(openai.json.data[0].embedding, a.outputs.base.pooled.mean_l2_normalized, 1e-4, "OpenAI token lists");
  });

  it("an empty string, an empty token list and an empty list are refused alike: 400, error_type empty", async () => {
    const cases: [string, object, string][] = [
      ["/embed", { inputs: [] }, "`inputs` cannot be empty"],
      ["/embed", { inputs: "" }, "`inputs` is an empty string: there is nothing to embed"],
      ["/embed", { inputs: ["a", ""] }, "`inputs[1]` is an empty string: there is nothing to embed"],
      ["/embed", { inputs: ["a", []] }, "`inputs[1]` is an empty list of token ids: there is nothing to embed"],
      ["/embed_all", { inputs: "" }, "`inputs` is an empty string: there is nothing to embed"],
      ["/predict", { inputs: "" }, "`inputs` is an empty string: there is nothing to embed"],
    ];
    for (const [path, body, message] of cases) {
      const res = await post(url, path, body);
      assert.deepEqual([res.status, res.json.error_type, res.json.error], [400, "empty", message], `${path} ${JSON.stringify(body)}`);
    }
    for (const [body, message] of [
      [{ input: [] }, "`input` cannot be empty"],
      [{ input: "" }, "`input` is an empty string: there is nothing to embed"],
      [{ input: [[]] }, "`input[0]` is an empty list of token ids: there is nothing to embed"],
    ] as const) {
      const res = await post(url, "/v1/embeddings", body);
      assert.deepEqual([res.status, res.json.error.type, res.json.error.code, res.json.error.message], [400, "invalid_request_error", "empty", message]);
    }
    // Whitespace is text: embedded as TEI and sentence-transformers embed it.
    assert.equal((await post(url, "/embed", { inputs: "   " })).status, 200);
  });

  it("TEI's response headers: times in whole ms, characters and tokens counted as TEI counts them", async () => {
    const picked = texts.filter((x) => /[^\x00-\x7f]/.test(x.input)).slice(0, 3);
    const res = await post(url, "/embed", { inputs: picked.map((x) => x.input) });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("x-compute-tokens"), String(picked.reduce((n, x) => n + x.num_tokens, 0)));
    assert.equal(res.headers.get("x-compute-characters"), String(picked.reduce((n, x) => n + codePoints(x.input), 0)));
    for (const h of ["x-compute-time", "x-total-time", "x-tokenization-time", "x-queue-time", "x-inference-time"]) {
      assert.match(res.headers.get(h) ?? "", /^\d+$/, h);
    }
    assert.ok(Number(res.headers.get("x-total-time")) >= Number(res.headers.get("x-inference-time")));
    const predict = await post(url, "/predict", { inputs: ["How old are you?", "I am six."] });
    assert.equal(predict.headers.get("x-compute-characters"), String("How old are you?".length + "I am six.".length));
    const openai = await post(url, "/embeddings", { input: picked[0].input });
    assert.equal(openai.headers.get("x-compute-tokens"), String(picked[0].num_tokens));
  });

  it("/embeddings is /v1/embeddings; /v1/models lists the models by id; /ping is /health", async () => {
    const a = await post(url, "/embeddings", { input: texts[0].input, model: "anything" });
    const b = await post(url, "/v1/embeddings", { input: texts[0].input });
    assert.equal(a.status, 200);
    assert.deepEqual(a.json, b.json);
    assert.equal(a.json.model, MINILM);
    const bad = await post(url, "/embeddings", { input: 5 });
    assert.equal(bad.json.error.type, "invalid_request_error", "OpenAI's error shape on /embeddings");
    const models = await call(url, "/v1/models");
    assert.equal(models.status, 200);
    assert.equal(models.json.object, "list");
    assert.deepEqual(models.json.data.map((m: any) => [m.id, m.object, m.owned_by, Number.isInteger(m.created)]), [
      [MINILM, "model", "bert-ts", true],
      [SEQCLS, "model", "bert-ts", true],
    ]);
    const ping = await call(url, "/ping");
    assert.deepEqual([ping.status, ping.json], [200, { status: "ok" }]);
  });

  it("model ids are hub ids or folder names, never the server's paths", async () => {
    const info = (await call(url, "/info")).json;
    const provenance = JSON.parse((await post(url, "/embed", { inputs: "a" })).headers.get("x-bert-ts-provenance") ?? "{}");
    for (const id of [info.model_id, info.bert_ts.embedding.model_id, info.bert_ts.classifier.model_id, info.bert_ts.embedding.provenance.model, provenance.model]) {
      assert.ok(!id.includes("/shared/") && !id.startsWith("/"), `${id} is not a path`);
    }
    assert.deepEqual([info.model_id, info.bert_ts.classifier.model_id, provenance.model], [MINILM, SEQCLS, MINILM]);
    const named = await startServer({ model: modelPath(MINILM), modelId: "sentence-transformers/all-MiniLM-L6-v2", host: "127.0.0.1", port: 0 });
    try {
      assert.equal((await call(named.url, "/info")).json.model_id, "sentence-transformers/all-MiniLM-L6-v2", "a hub id is kept");
      assert.equal((await post(named.url, "/v1/embeddings", { input: "a" })).json.model, "sentence-transformers/all-MiniLM-L6-v2");
    } finally {
      await named.close();
    }
    const pathNamed = await startServer({ model: modelPath(MINILM), modelId: modelPath(MINILM), host: "127.0.0.1", port: 0 });
    try {
      assert.equal((await call(pathNamed.url, "/info")).json.model_id, MINILM, "a path becomes its folder's name");
    } finally {
      await pathNamed.close();
    }
  });

  it("validation errors say which field, what it must be and what was sent", async () => {
    const cases: [string, object, string][] = [
      ["/embed", { inputs: { text: "a" } }, "`inputs` must be a string, a list of token ids, or a list of strings and/or lists of token ids (got a JSON object)"],
      ["/embed", { inputs: ["a", null] }, "`inputs` must be a string, a list of token ids, or a list of strings and/or lists of token ids (got a list of strings and null)"],
      ["/embed", { input: "a" }, "`inputs` is required"],
      ["/embed", { inputs: "a", truncate: "yes" }, '`truncate` must be true or false or null (got "yes")'],
      ["/embed", { inputs: "a", truncation_direction: "Up" }, '`truncation_direction` must be one of "Right", "Left", "right", "left" (got "Up")'],
      ["/embed", { inputs: "a", dimensions: 0 }, "`dimensions` must be at least 1 (got 0)"],
      ["/predict", { inputs: ["a", "b", "c"] }, "`inputs` must be a string, a pair [string, string], or a list of [string] and [string, string] (got a list of strings)"],
      ["/decode", { ids: [-1] }, "`ids` must be a list of token ids or a list of lists of token ids (got a list of numbers)"],
    ];
    for (const [path, body, message] of cases) {
      const res = await post(url, path, body);
      assert.deepEqual([res.status, res.json.error_type, res.json.error], [422, "validation", `Invalid request: ${message}`], `${path} ${JSON.stringify(body)}`);
    }
    const body = await post(url, "/embed", ["a"]);
    assert.equal(body.json.error, "Invalid request: The request body must be a JSON object (got a list of strings)");
  });

  it("no CORS headers unless asked; bert_ts_* metrics only by default", async () => {
    const res = await call(url, "/embed", { body: { inputs: "a" }, headers: { origin: "https://app.example" } });
    assert.equal(res.headers.get("access-control-allow-origin"), null);
    const pre = await call(url, "/embed", { method: "OPTIONS", headers: { origin: "https://app.example", "access-control-request-method": "POST" } });
    assert.equal(pre.status, 405);
    const metrics = (await call(url, "/metrics")).text;
    assert.ok(metrics.includes("bert_ts_http_requests_total"));
    assert.ok(!/^te_/m.test(metrics), "no te_* names by default");
  });
});

describe("bert-ts serve: a classifier on POST /, CORS and TEI's metric names", { skip: skipUnlessServerModels() || skipUnlessModel(CE) || skipUnlessGolden(`${CE}.json`) }, () => {
  let classifier: RunningServer;
  let reranker: RunningServer;
  const ORIGIN = "https://app.example";
  before(async () => {
    [classifier, reranker] = await Promise.all([
      startServer({ classifier: modelPath(SEQCLS), host: "127.0.0.1", port: 0, corsOrigins: [ORIGIN], apiKey: "k", metricsNames: "te" }),
      startServer({ classifier: modelPath(CE), host: "127.0.0.1", port: 0, metricsNames: "both" }),
    ]);
  });
  after(async () => {
    await classifier?.close();
    await reranker?.close();
  });
  const auth = { authorization: "Bearer k" };

  it("POST / predicts with a classifier (TEI's /predict shape) and reranks with a one-output cross-encoder", async () => {
    const x = (loadGolden(`${SEQCLS}.json`).inputs as any[]).find((g) => Array.isArray(g.input) && !g.truncated);
    const res = await post(classifier.url, "/", { inputs: x.input }, auth);
    assert.equal(res.status, 200, res.text);
    assert.equal(res.headers.get("x-bert-ts-route"), "/predict");
    const labels = ["negative", "neutral", "positive"];
    assertClose(labels.map((l) => res.json.find((p: any) => p.label === l).score), x.outputs.seqcls.softmax, 1e-4, "predict on /");
    const query = "what is the boiling point of water at sea level";
    const refs = (loadGolden(`${CE}.json`).inputs as any[]).filter((g) => g.input[0] === query);
    const ranked = await post(reranker.url, "/invocations", { query, texts: refs.map((g) => g.input[1]), raw_scores: true });
    assert.equal(ranked.status, 200, ranked.text);
    assert.equal(ranked.headers.get("x-bert-ts-route"), "/rerank");
    ranked.json.forEach((r: any) => assertClose([r.score], [refs[r.index].outputs.rerank.score], 1e-4, `rerank ${r.index}`));
    assert.equal((await post(reranker.url, "/", { inputs: "a" })).status, 422, "a reranker takes {query, texts} on /, as TEI's");
  });

  it("CORS for the configured origin only: preflight before the API key, headers on errors too", async () => {
    const pre = await call(classifier.url, "/predict", { method: "OPTIONS", headers: { origin: ORIGIN, "access-control-request-method": "POST", "access-control-request-headers": "content-type,authorization" } });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get("access-control-allow-origin"), ORIGIN);
    assert.match(pre.headers.get("access-control-allow-headers") ?? "", /authorization/);
    const ok = await call(classifier.url, "/predict", { body: { inputs: "hello" }, headers: { ...auth, origin: ORIGIN } });
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get("access-control-allow-origin"), ORIGIN);
    assert.match(ok.headers.get("access-control-expose-headers") ?? "", /x-compute-time/);
    const denied = await call(classifier.url, "/predict", { body: { inputs: "hello" }, headers: { origin: ORIGIN } });
    assert.equal(denied.status, 401);
    assert.equal(denied.headers.get("access-control-allow-origin"), ORIGIN, "a browser can read the 401");
    const other = await call(classifier.url, "/predict", { body: { inputs: "hello" }, headers: { ...auth, origin: "https://evil.example" } });
    assert.equal(other.headers.get("access-control-allow-origin"), null);
  });

  it("--metrics-names te exposes TEI's te_* names (and not bert_ts_*); both exposes both", async () => {
    const series = (text: string, name: string) => Number(text.split("\n").find((l) => l.startsWith(name + " "))?.slice(name.length + 1) ?? 0);
    const before = (await call(classifier.url, "/metrics")).text;
    assert.equal((await post(classifier.url, "/predict", { inputs: "hello" }, auth)).status, 200);
    assert.equal((await post(classifier.url, "/predict", { inputs: [["a"], ["b", "c"]] }, auth)).status, 200);
    assert.equal((await post(classifier.url, "/predict", { inputs: Array.from({ length: 33 }, () => ["a"]) }, auth)).status, 413);
    const after = (await call(classifier.url, "/metrics")).text;
    assert.ok(!after.includes("bert_ts_"), "te only");
    const moved = (name: string) => series(after, name) - series(before, name);
    assert.equal(moved('te_request_count{method="single"}'), 1);
    assert.equal(moved('te_request_success{method="batch"}'), 1);
    assert.equal(moved("te_predict_count"), 3);
    assert.equal(moved("te_predict_success"), 3);
    assert.equal(moved('te_request_failure{err="batch_size"}'), 1);
    assert.equal(moved("te_request_duration_count"), 2);
    assert.equal(moved("te_request_input_length_count"), 3);
    assert.equal(moved("te_batch_next_size_sum"), 3, "three inputs went through forward passes");
    for (const name of ["te_request_queue_duration_bucket", "te_request_inference_duration_sum", "te_batch_next_tokens_bucket", "te_queue_size", "te_predict_inference_duration_count"]) {
      assert.ok(after.includes(name), name);
    }
    const both = (await call(reranker.url, "/metrics")).text;
    assert.ok(both.includes("bert_ts_http_requests_total") && both.includes("te_request_count"), "both");
  });
});
