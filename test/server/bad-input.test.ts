/**
 * A corpus of malformed requests sent while valid traffic keeps flowing: every bad request gets a
 * clear 4xx with a JSON error (TEI's {error, error_type}, OpenAI's shape on /v1), every good one
 * its exact answer, and the server stays up.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { RunningServer } from "../../src/server/app.js";
import { type Reply, call, skipUnlessServerModels, startTestServer } from "./helpers.js";

const KEY = "test-key";
const AUTH = { authorization: `Bearer ${KEY}` };

interface BadCase {
  name: string;
  path: string;
  method?: string;
  raw?: string | Uint8Array;
  body?: unknown;
  headers?: Record<string, string>;
  status: number;
}

const words = (n: number) => Array.from({ length: n }, (_, i) => `word${i % 50}`).join(" ");

const CASES: BadCase[] = [
  { name: "invalid JSON", path: "/embed", raw: '{"inputs": "a",', status: 400 },
  { name: "JSON with a trailing comma", path: "/embed", raw: '{"inputs": ["a",]}', status: 400 },
  { name: "empty body", path: "/embed", raw: "", status: 400 },
  { name: "a JSON string instead of an object", path: "/embed", body: "hello", status: 422 },
  { name: "a JSON array instead of an object", path: "/embed", body: ["hello"], status: 422 },
  { name: "no inputs", path: "/embed", body: { input: "a" }, status: 422 },
  { name: "inputs: number", path: "/embed", body: { inputs: 5 }, status: 422 },
  { name: "inputs: null", path: "/embed", body: { inputs: null }, status: 422 },
  { name: "inputs: object", path: "/embed", body: { inputs: { text: "a" } }, status: 422 },
  { name: "fractional token ids", path: "/embed", body: { inputs: [1.5, 2] }, status: 422 },
  { name: "boolean inputs", path: "/embed", body: { inputs: [true] }, status: 422 },
  { name: "token id outside the vocabulary", path: "/embed", body: { inputs: [[101, 102], [101, 999999, 102]] }, status: 422 },
  { name: "empty string", path: "/embed", body: { inputs: "" }, status: 400 },
  { name: "an empty string in a batch", path: "/embed", body: { inputs: ["a", ""] }, status: 400 },
  { name: "an empty token list in a batch", path: "/embed", body: { inputs: [[]] }, status: 400 },
  { name: "mixed inputs", path: "/embed", body: { inputs: ["a", null] }, status: 422 },
  { name: "empty inputs", path: "/embed", body: { inputs: [] }, status: 400 },
  { name: "too many inputs", path: "/embed", body: { inputs: Array.from({ length: 33 }, (_, i) => `t${i}`) }, status: 413 },
  { name: "too many tokens", path: "/embed", body: { inputs: words(400) }, status: 413 },
  { name: "normalize: string", path: "/embed", body: { inputs: "a", normalize: "yes" }, status: 422 },
  { name: "truncate: string", path: "/embed", body: { inputs: "a", truncate: "true" }, status: 422 },
  { name: "bad truncation_direction", path: "/embed", body: { inputs: "a", truncation_direction: "Up" }, status: 422 },
  { name: "prompt_name the model does not define", path: "/embed", body: { inputs: "a", prompt_name: "query" }, status: 422 },
  { name: "dimensions above the model's", path: "/embed", body: { inputs: "a", dimensions: 1000 }, status: 422 },
  { name: "huge body", path: "/embed", raw: JSON.stringify({ inputs: "a ".repeat(1_600_000) }), status: 413 },
  { name: "invalid UTF-8 bytes", path: "/embed", raw: Buffer.concat([Buffer.from('{"inputs": "ab'), Buffer.from([0xc3, 0x28, 0xff]), Buffer.from('"}')]), status: 400 },
  { name: "prototype pollution", path: "/embed", raw: '{"inputs": "a", "__proto__": {"polluted": true}}', status: 400 },
  { name: "deeply nested JSON", path: "/embed", raw: "[".repeat(200_000) + "]".repeat(200_000), status: 400 },
  { name: "50,000 object keys", path: "/embed", raw: `{"inputs": "a", ${Array.from({ length: 50_000 }, (_, i) => `"k${i}": ${i}`).join(", ")}}`, status: 400 },
  { name: "nested 33 levels", path: "/embed", raw: `{"inputs": ${"[".repeat(32)}"a"${"]".repeat(32)}}`, status: 400 },
  { name: "text/plain body", path: "/embed", raw: '{"inputs": "a"}', headers: { "content-type": "text/plain" }, status: 415 },
  { name: "form body", path: "/embed", raw: "inputs=a", headers: { "content-type": "application/x-www-form-urlencoded" }, status: 415 },
  { name: "embed_all with too many tokens", path: "/embed_all", body: { inputs: [words(300)] }, status: 413 },
  { name: "predict with three texts", path: "/predict", body: { inputs: ["a", "b", "c"] }, status: 422 },
  { name: "predict with an empty batch", path: "/predict", body: { inputs: [] }, status: 400 },
  { name: "predict with a triple", path: "/predict", body: { inputs: [["a", "b", "c"]] }, status: 422 },
  { name: "predict raw_scores: number", path: "/predict", body: { inputs: "a", raw_scores: 1 }, status: 422 },
  { name: "tokenize with too many characters", path: "/tokenize", body: { inputs: "word ".repeat(25_000) }, status: 413 },
  { name: "embed_all whose response would be huge", path: "/embed_all", body: { inputs: Array.from({ length: 32 }, () => words(100)) }, status: 413 },
  { name: "gzip-encoded body", path: "/embed", raw: '{"inputs": "a"}', headers: { "content-encoding": "gzip" }, status: 415 },
  { name: "tokenize with numbers", path: "/tokenize", body: { inputs: [1] }, status: 422 },
  { name: "decode with strings", path: "/decode", body: { ids: ["a"] }, status: 422 },
  { name: "decode with negative ids", path: "/decode", body: { ids: [-1] }, status: 422 },
  { name: "decode with fractional ids", path: "/decode", body: { ids: [1.5] }, status: 422 },
  { name: "openai: no input", path: "/v1/embeddings", body: { model: "m" }, status: 422 },
  { name: "openai: empty input", path: "/v1/embeddings", body: { input: [] }, status: 400 },
  { name: "openai: empty token array", path: "/v1/embeddings", body: { input: [[]] }, status: 400 },
  { name: "openai: empty string", path: "/v1/embeddings", body: { input: "" }, status: 400 },
  { name: "openai: token id outside the vocabulary", path: "/v1/embeddings", body: { input: [101, 999999, 102] }, status: 422 },
  { name: "openai: bad encoding_format", path: "/v1/embeddings", body: { input: "a", encoding_format: "float16" }, status: 422 },
  { name: "openai: dimensions 0", path: "/v1/embeddings", body: { input: "a", dimensions: 0 }, status: 422 },
  { name: "openai: too many tokens", path: "/v1/embeddings", body: { input: words(400) }, status: 413 },
  { name: "wrong method on /embed", path: "/embed", method: "GET", status: 405 },
  { name: "wrong method on /v1/embeddings", path: "/v1/embeddings", method: "DELETE", status: 405 },
  { name: "wrong method on /health", path: "/health", method: "POST", raw: "{}", status: 405 },
  { name: "unknown route", path: "/embedz", body: { inputs: "a" }, status: 404 },
  { name: "unknown GET route", path: "/v2/models", method: "GET", status: 404 },
  { name: "missing API key", path: "/embed", body: { inputs: "a" }, headers: { authorization: "" }, status: 401 },
  { name: "wrong API key", path: "/embed", body: { inputs: "a" }, headers: { authorization: "Bearer nope" }, status: 401 },
  { name: "API key in the wrong scheme", path: "/v1/embeddings", body: { input: "a" }, headers: { authorization: `Basic ${KEY}` }, status: 401 },
];

async function send(url: string, c: BadCase): Promise<Reply> {
  return call(url, c.path, { method: c.method, body: c.body, raw: c.raw, headers: { ...AUTH, ...c.headers } });
}

describe("bert-ts serve: bad input", { skip: skipUnlessServerModels() }, () => {
  let server: RunningServer;
  before(async () => {
    server = await startTestServer({ apiKey: KEY });
  });
  after(() => server?.close());

  it("answers every malformed request with a clear 4xx while valid traffic gets exact answers", async () => {
    const url = server.url;
    const good = [
      { path: "/embed", body: { inputs: ["The cat sat on the mat.", "Hello, world!"] } },
      { path: "/predict", body: { inputs: ["How old are you?", "I am six years old."] } },
      { path: "/v1/embeddings", body: { input: "Café naïve résumé", model: "x" } },
      { path: "/tokenize", body: { inputs: "unaffable" } },
    ];
    const expected = await Promise.all(good.map((g) => call(url, g.path, { body: g.body, headers: AUTH })));
    expected.forEach((e) => assert.equal(e.status, 200));

    let stop = false;
    let goodCount = 0;
    const traffic = Array.from({ length: 3 }, async (_, w) => {
      for (let i = w; !stop; i++) {
        const g = good[i % good.length];
        const res = await call(url, g.path, { body: g.body, headers: AUTH });
        assert.equal(res.status, 200, `good request ${g.path}: ${res.text}`);
        assert.equal(res.text, expected[i % good.length].text, `good request ${g.path} answered differently`);
        goodCount++;
      }
    });

    // Each bad request twice, all at once, among the good ones.
    const replies = await Promise.all([...CASES, ...CASES].map(async (c) => ({ c, res: await send(url, c) })));
    stop = true;
    await Promise.all(traffic);
    assert.ok(goodCount > 0);

    for (const { c, res } of replies) {
      assert.equal(res.status, c.status, `${c.name}: expected ${c.status}, got ${res.status} ${res.text.slice(0, 200)}`);
      assert.ok(res.json, `${c.name}: JSON body`);
      if (c.path.startsWith("/v1/")) {
        assert.equal(typeof res.json.error?.message, "string", `${c.name}: OpenAI error shape`);
        assert.equal(typeof res.json.error?.type, "string");
      } else {
        assert.equal(typeof res.json.error, "string", `${c.name}: error`);
        assert.equal(typeof res.json.error_type, "string", `${c.name}: error_type`);
        assert.ok(res.json.error.length > 5, `${c.name}: a message a person can read`);
      }
    }
    const allow = replies.find(({ c }) => c.status === 405)!.res.headers.get("allow");
    assert.equal(allow, "POST");
    assert.equal((await call(url, "/health")).status, 200, "still up");
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});
