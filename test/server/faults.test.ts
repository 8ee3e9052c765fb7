/**
 * Faults while valid traffic flows: a worker that dies mid-batch (the test fault hook's `exit-once`
 * and a thread terminated from outside), a worker that hangs (`hang-once`, `hang`), poisoned requests (one that makes the forward pass throw,
 * one that kills its worker every time, token ids the model has no row for) and a full queue. In
 * each, every valid request must be answered with exactly what it gets alone.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import type { RunningServer } from "../../src/server/app.js";
import { ApiError } from "../../src/server/errors.js";
import { OUTPUT_POOLED } from "../../src/server/protocol.js";
import { CORPUS_FILE } from "../helpers/paths.js";
import { type Reply, call, post, skipUnlessServerModels, startTestServer } from "./helpers.js";

// The fault hook exists only when the environment asks for it (read when a server starts).
process.env.BERT_TS_TEST_FAULTS = "1";

const FAULT = "x-bert-ts-test-fault";
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function metric(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(name + " ") || l.startsWith(name + "{"));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : 0;
}

/** Valid /embed requests, each with the answer it gets alone on an idle server. */
interface Valid {
  body: { inputs: string[]; truncate: boolean };
  expected: string;
}

async function expectedAnswers(url: string, sentences: string[], count: number): Promise<Valid[]> {
  const out: Valid[] = [];
  for (let r = 0; r < count; r++) {
    const body = { inputs: Array.from({ length: 1 + (r % 4) }, (_, k) => sentences[(r * 11 + k * 7) % sentences.length]), truncate: true };
    const res = await post(url, "/embed", body);
    assert.equal(res.status, 200);
    out.push({ body, expected: res.text });
  }
  return out;
}

/** Clients sending valid requests until stopped; every answer is checked. */
function validTraffic(url: string, valid: Valid[], clients: number) {
  let stop = false;
  const counts = { answered: 0, wrong: [] as string[] };
  const done = Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      for (let i = c; !stop; i += clients) {
        const v = valid[i % valid.length];
        const res = await post(url, "/embed", v.body);
        if (res.status === 200 && res.text === v.expected) counts.answered++;
        else counts.wrong.push(`${res.status} ${res.text.slice(0, 160)}`);
      }
    }),
  );
  return {
    counts,
    async stop() {
      stop = true;
      await done;
      return counts;
    },
  };
}

describe("bert-ts serve: faults with valid traffic", { skip: skipUnlessServerModels() }, () => {
  let server: RunningServer;
  let sentences: string[];
  let valid: Valid[];

  before(async () => {
    sentences = readFileSync(CORPUS_FILE, "utf8").split("\n").filter((l) => l.trim().length > 0);
    server = await startTestServer({ classifier: undefined, workers: 2, threadsPerWorker: 1 });
    valid = await expectedAnswers(server.url, sentences, 12);
  });
  after(() => server?.close());

  it("restarts a worker that dies mid-batch and retries its requests: every valid request answered exactly", async () => {
    // Each worker ran a warm-up pass before the server listened; it seeds the throughput estimate.
    assert.ok(server.context.engine.warmupTokensPerSecond > 0);
    const m0 = (await call(server.url, "/metrics")).text;
    const traffic = validTraffic(server.url, valid, 4);
    const crashed: Reply[] = [];
    const bothLive = async () => {
      for (let i = 0; i < 600 && server.context.engine.live < 2; i++) await sleep(100);
      assert.equal(server.context.engine.live, 2, "every worker restarted");
    };
    for (let k = 0; k < 3; k++) {
      await bothLive();
      // A valid request whose first run crashes its worker (as a segfault or OOM kill would): it
      // and its batch neighbours are retried, so it too gets its exact answer.
      crashed.push(await post(server.url, "/embed", valid[k].body, { [FAULT]: "exit-once" }));
      await bothLive();
      // A thread killed from outside, whatever it was doing.
      await server.context.engine.killWorker(k);
    }
    await bothLive();
    const counts = await traffic.stop();
    crashed.forEach((r, k) => assert.equal(r.text, valid[k].expected, `crashing request ${k}: ${r.status} ${r.text.slice(0, 200)}`));
    assert.deepEqual(counts.wrong, [], "valid requests lost or wrong");
    assert.ok(counts.answered > 0, "valid traffic went on");

    const deaths = metric((await call(server.url, "/metrics")).text, "bert_ts_worker_deaths_total") - metric(m0, "bert_ts_worker_deaths_total");
    assert.equal(deaths, 6, "three crashes and three kills");
    const ready = await call(server.url, "/ready");
    assert.equal(ready.status, 200);
    assert.equal(ready.json.workers, 2);
  });

  it("fails only the poisoned request of a batch: 422 when its forward pass throws, 500 when it kills its worker twice", async () => {
    const m0 = (await call(server.url, "/metrics")).text;
    const traffic = validTraffic(server.url, valid, 4);
    const poisoned: { kind: string; res: Promise<Reply> }[] = [];
    for (let k = 0; k < 4; k++) {
      await sleep(200);
      const kind = k % 2 === 0 ? "throw" : "exit";
      // Sent in the same tick as valid requests, so they share its batch.
      const burst = valid.slice(0, 6).map((v) => post(server.url, "/embed", v.body));
      poisoned.push({ kind, res: post(server.url, "/embed", valid[k].body, { [FAULT]: kind }) });
      const answers = await Promise.all(burst);
      answers.forEach((a, i) => assert.equal(a.text, valid[i].expected, `burst ${k} request ${i}: ${a.status} ${a.text.slice(0, 160)}`));
    }
    // Token ids the model has no embedding for are refused before batching.
    const outside = async () => server.context.batcher.submit("embedding", [{ ids: [101, 999_999, 102], typeIds: [0, 0, 0], output: OUTPUT_POOLED }]);
    await assert.rejects(outside, (e: unknown) => e instanceof ApiError && e.status === 422 && /outside the model's vocabulary/.test(e.message));
    const types = async () => server.context.batcher.submit("embedding", [{ ids: [101, 102], typeIds: [0, 7], output: OUTPUT_POOLED }]);
    await assert.rejects(types, (e: unknown) => e instanceof ApiError && e.status === 422 && /token type id 7/.test(e.message));

    for (const p of poisoned) {
      const res = await p.res;
      if (p.kind === "throw") {
        assert.equal(res.status, 422, res.text);
        assert.match(res.json.error, /Inference failed on this input: injected test fault/);
      } else {
        assert.equal(res.status, 500, res.text);
        assert.match(res.json.error, /died twice/);
      }
    }
    const counts = await traffic.stop();
    assert.deepEqual(counts.wrong, [], "valid requests lost or wrong");
    const isolated = metric((await call(server.url, "/metrics")).text, "bert_ts_isolated_requests_total") - metric(m0, "bert_ts_isolated_requests_total");
    assert.ok(isolated > poisoned.length, `valid requests sharing a batch with a poisoned one were re-run alone (${isolated} re-runs)`);
  });
});

describe("bert-ts serve: a hung worker", { skip: skipUnlessServerModels() }, () => {
  let server: RunningServer;
  let valid: Valid[];
  before(async () => {
    const sentences = readFileSync(CORPUS_FILE, "utf8").split("\n").filter((l) => l.trim().length > 0);
    // A short floor so the test does not wait a minute per hang; a valid batch still gets 20 times
    // its measured compute time, so a slow (loaded) machine is not taken for a hung one.
    server = await startTestServer({ classifier: undefined, workers: 2, threadsPerWorker: 1, batchTimeout: 2 });
    valid = await expectedAnswers(server.url, sentences, 8);
  });
  after(() => server?.close());

  it("terminates a worker past its batch deadline, restarts it, retries its requests once, and fails a request that hangs twice", async () => {
    const m0 = (await call(server.url, "/metrics")).text;
    const traffic = validTraffic(server.url, valid, 3);
    // A forward pass that never returns on its first run only: the retry answers it exactly.
    const once = await post(server.url, "/embed", valid[1].body, { [FAULT]: "hang-once" });
    // One that hangs every time, sent in the same tick as valid requests so they share its batch.
    const burst = valid.slice(0, 4).map((v) => post(server.url, "/embed", v.body));
    const always = await post(server.url, "/embed", valid[2].body, { [FAULT]: "hang" });
    const answers = await Promise.all(burst);
    for (let i = 0; i < 600 && server.context.engine.live < 2; i++) await sleep(100);
    const counts = await traffic.stop();

    assert.equal(once.text, valid[1].expected, `hang-once: ${once.status} ${once.text.slice(0, 200)}`);
    assert.equal(always.status, 500, always.text);
    assert.match(always.json.error, /hung twice/);
    answers.forEach((a, i) => assert.equal(a.text, valid[i].expected, `burst request ${i}: ${a.status} ${a.text.slice(0, 160)}`));
    assert.deepEqual(counts.wrong, [], "valid requests lost or wrong");
    const m = (await call(server.url, "/metrics")).text;
    const hangs = metric(m, "bert_ts_worker_hangs_total") - metric(m0, "bert_ts_worker_hangs_total");
    assert.equal(hangs, 3, "one hang for hang-once, two for hang");
    assert.equal(metric(m, "bert_ts_worker_deaths_total") - metric(m0, "bert_ts_worker_deaths_total"), 3, "each hung worker was terminated and restarted");
    assert.equal((await call(server.url, "/ready")).json.workers, 2, "both workers back");
  });
});

describe("bert-ts serve: admission by work", { skip: skipUnlessServerModels() }, () => {
  let server: RunningServer;
  let sentences: string[];
  before(async () => {
    sentences = readFileSync(CORPUS_FILE, "utf8").split("\n").filter((l) => l.length > 200);
    server = await startTestServer({ classifier: undefined, maxQueueWait: 1, maxQueueTokens: 40_000 });
  });
  after(() => server?.close());

  it("turns away work that would wait longer than --max-queue-wait (503) or overflow the token queue (429), and answers the rest exactly", async () => {
    const big = (r: number) => ({ inputs: Array.from({ length: 16 }, (_, k) => sentences[(r * 5 + k) % sentences.length]), truncate: true });
    const small = { inputs: ["A small request."] };
    const alone = await post(server.url, "/embed", small);
    const flood = Array.from({ length: 24 }, (_, r) => post(server.url, "/embed", big(r)));
    await sleep(50);
    // Work ahead of the small request when it arrives: admitted only if its estimated wait is
    // within --max-queue-wait (no wall-clock limit here: the machine may be loaded).
    const waitAtArrival = server.context.batcher.estimatedWaitSeconds;
    const smallReply = await post(server.url, "/embed", small);
    const replies = await Promise.all(flood);

    // Turned away at once, or admitted with a short estimated wait: never queued behind minutes of work.
    assert.ok(smallReply.status === 200 || smallReply.status === 503, `${smallReply.status} ${smallReply.text}`);
    if (waitAtArrival > 3) assert.equal(smallReply.status, 503, `admitted with an estimated wait of ${waitAtArrival.toFixed(1)} s`);
    if (smallReply.status === 200) assert.equal(smallReply.text, alone.text);

    const statuses = replies.map((r) => r.status);
    assert.ok(statuses.every((s) => s === 200 || s === 429 || s === 503), `only 200, 429 and 503: ${[...new Set(statuses)]}`);
    const refused = replies.filter((r) => r.status !== 200);
    assert.ok(refused.length > 0 && refused.length < replies.length, `${refused.length} of ${replies.length} turned away`);
    for (const r of refused) {
      assert.equal(r.json.error_type, "overloaded");
      assert.ok(Number(r.headers.get("retry-after")) >= 1, "Retry-After");
    }
    assert.ok(statuses.includes(503), "some refused for their estimated wait");
    const served = replies.map((r, i) => ({ r, i })).filter(({ r }) => r.status === 200);
    for (const { r, i } of served.slice(0, 3)) {
      const inputs = big(i).inputs;
      const again = await post(server.url, "/embed", { inputs, truncate: true });
      assert.equal(r.text, again.text, `flood request ${i} equals the same request on an idle server`);
    }
    const m = (await call(server.url, "/metrics")).text;
    assert.ok(metric(m, 'bert_ts_admission_rejected_total{reason="queue_wait"}') > 0);
  });
});
