/**
 * Behaviour under load: requests from many clients are batched together yet each gets exactly
 * (bit for bit) what it gets alone and what SentenceEncoder gives in-process; a request larger
 * than the token budget is split; a full queue answers 429 with Retry-After; /health stays fast
 * while the worker is saturated (inference runs off the event loop).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { SentenceEncoder } from "../../src/pipelines/sentence-encoder.js";
import type { RunningServer } from "../../src/server/app.js";
import { CORPUS_FILE, modelPath } from "../helpers/paths.js";
import { MINILM, call, post, quantile, skipUnlessServerModels, startTestServer } from "./helpers.js";

const skip = skipUnlessServerModels();

/** Deterministic requests of 1..6 corpus sentences each. */
function makeRequests(sentences: readonly string[], count: number, offset = 0): string[][] {
  return Array.from({ length: count }, (_, r) => {
    const n = 1 + ((r * 7) % 6);
    return Array.from({ length: n }, (_, k) => sentences[(offset + r * 13 + k * 5) % sentences.length]);
  });
}

function metricValue(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(name + " ") || l.startsWith(name + "{"));
  // A labelled metric has no line until first observed.
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

describe("bert-ts serve: dynamic batching", { skip }, () => {
  let server: RunningServer;
  let small: RunningServer;
  let encoder: SentenceEncoder;
  let sentences: string[];

  before(async () => {
    sentences = readFileSync(CORPUS_FILE, "utf8").split("\n").filter((l) => l.trim().length > 0);
    [server, small, encoder] = await Promise.all([
      startTestServer({ classifier: undefined }),
      // The smallest token budget the model allows and a 4-request queue.
      startTestServer({ classifier: undefined, maxBatchTokens: 256, maxQueue: 4 }),
      SentenceEncoder.load(modelPath(MINILM)),
    ]);
  });
  after(async () => {
    await Promise.all([server?.close(), small?.close()]);
  });

  it("answers concurrent requests bit for bit as it answers each text alone, and as SentenceEncoder does", async () => {
    const requests = makeRequests(sentences, 24);
    const before = (await call(server.url, "/metrics")).text;
    const together = await Promise.all(requests.map((inputs) => post(server.url, "/embed", { inputs, truncate: true })));
    const after = (await call(server.url, "/metrics")).text;
    const batches = metricValue(after, "bert_ts_batch_inputs_count") - metricValue(before, "bert_ts_batch_inputs_count");
    const inputs = metricValue(after, "bert_ts_batch_inputs_sum") - metricValue(before, "bert_ts_batch_inputs_sum");
    assert.ok(batches < requests.length, `requests were batched together (${inputs} inputs in ${batches} forward passes)`);

    const unique = [...new Set(requests.flat())];
    const alone = new Map<string, number[]>();
    for (const text of unique) alone.set(text, (await post(server.url, "/embed", { inputs: text, truncate: true })).json[0]);
    const library = await encoder.embed(unique);
    unique.forEach((text, i) => assert.deepEqual(alone.get(text), Array.from(library[i]), `SentenceEncoder and /embed differ for text ${i}`));
    together.forEach((res, r) => {
      assert.equal(res.status, 200);
      requests[r].forEach((text, k) => assert.deepEqual(res.json[k], alone.get(text), `request ${r} input ${k} differs from the same text alone`));
    });
  });

  it("splits a request larger than the token budget over several forward passes", async () => {
    const inputs = sentences.filter((s) => s.length > 150).slice(0, 32);
    const before = metricValue((await call(small.url, "/metrics")).text, "bert_ts_batch_inputs_count");
    const res = await post(small.url, "/embed", { inputs, truncate: true });
    const passes = metricValue((await call(small.url, "/metrics")).text, "bert_ts_batch_inputs_count") - before;
    assert.equal(res.status, 200);
    assert.ok(passes > 1, `${passes} forward passes`);
    const expected = await encoder.embed(inputs);
    inputs.forEach((_, i) => assert.deepEqual(res.json[i], Array.from(expected[i])));
  });

  it("answers 429 with Retry-After when the queue is full, and every admitted request correctly", async () => {
    const requests = makeRequests(sentences, 40, 3).map((r) => [...r, ...r]);
    const replies = await Promise.all(requests.map((inputs) => post(small.url, "/embed", { inputs, truncate: true })));
    const statuses = replies.map((r) => r.status);
    assert.ok(statuses.every((s) => s === 200 || s === 429), `only 200 and 429, got ${[...new Set(statuses)]}`);
    const rejected = replies.filter((r) => r.status === 429);
    assert.ok(rejected.length > 0, "some requests were turned away");
    assert.ok(statuses.filter((s) => s === 200).length >= 4, "the queue's worth of requests was served");
    for (const r of rejected) {
      assert.deepEqual(r.json, { error: "Model is overloaded", error_type: "overloaded" });
      assert.ok(Number(r.headers.get("retry-after")) >= 1, "Retry-After");
    }
    const served = replies.map((r, i) => ({ r, inputs: requests[i] })).filter(({ r }) => r.status === 200);
    const expected = await encoder.embed(served.flatMap(({ inputs }) => inputs));
    let k = 0;
    for (const { r, inputs } of served) inputs.forEach((_, j) => assert.deepEqual(r.json[j], Array.from(expected[k++])));
    assert.equal((await call(small.url, "/health")).status, 200);
  });

  it("answers /health without waiting for forward passes while the worker is saturated", async () => {
    const body = { inputs: sentences.slice(0, 16), truncate: true };
    let stop = false;
    let served = 0;
    const clients = Array.from({ length: 6 }, async () => {
      while (!stop) {
        const res = await post(server.url, "/embed", body);
        assert.equal(res.status, 200);
        served++;
      }
    });
    await new Promise((r) => setTimeout(r, 300));
    // Work, not milliseconds: how many /embed answers arrive while each probe is outstanding. A
    // probe that waited behind a forward pass (a blocked event loop) would see a whole batch of
    // answers every time; a free event loop answers most probes between two batches.
    const overlaps: number[] = [];
    for (let i = 0; i < 60; i++) {
      const before = served;
      const res = await call(server.url, "/health");
      overlaps.push(served - before);
      assert.equal(res.status, 200);
      await new Promise((r) => setTimeout(r, 10));
    }
    const depth = metricValue((await call(server.url, "/metrics")).text, "bert_ts_queue_requests");
    stop = true;
    await Promise.all(clients);
    const median = quantile(overlaps, 0.5);
    assert.ok(median === 0, `/health probes overlapped a median of ${median} /embed answers (${overlaps.join(" ")}; ${served} served, queue ${depth})`);
    assert.ok(depth > 1, `the server was saturated (queue depth ${depth})`);
  });
});
