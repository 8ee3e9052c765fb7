/**
 * `bert-ts serve` as an operator runs it: a spawned process (the built CLI, so the compiled worker
 * is what runs) that prints its URL, serves, and on SIGTERM stops accepting, answers the requests
 * it already has, and exits 0.
 */
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { CORPUS_FILE, modelPath } from "../helpers/paths.js";
import { BUILT_WORKER, MINILM, call, post, skipUnlessServerModels, spawnServer } from "./helpers.js";

describe("bert-ts serve: process lifecycle", { skip: skipUnlessServerModels() }, () => {
  it("finishes in-flight requests on SIGTERM while valid traffic goes on, then exits 0", { skip: !existsSync(BUILT_WORKER) && !process.env.CI && "dist/ is not built (npm run build)" }, async () => {
    const { child, url, stderr, exited } = await spawnServer(["--model", modelPath(MINILM), "--port", "0", "--max-batch-tokens", "256", "--workers", "2", "--threads", "1"]);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(stderr(), /RANDOM weights/i, "random-weight checkpoints are flagged");
    assert.match(stderr(), /2 inference workers × 1 thread/);
    assert.equal((await call(url, "/health")).status, 200);
    assert.equal((await call(url, "/ready")).status, 200);

    const sentences = readFileSync(CORPUS_FILE, "utf8").split("\n").filter((l) => l.length > 100);
    const bodies = Array.from({ length: 4 }, (_, r) => ({ inputs: sentences.slice(r * 12, r * 12 + 12), truncate: true }));
    const expected = await Promise.all(bodies.map((b) => post(url, "/embed", b)));
    const small = { inputs: ["A small valid request."] };
    const smallExpected = (await post(url, "/embed", small)).text;

    const inflight = bodies.map((b) => post(url, "/embed", b));
    // Wait until the server holds them, then ask it to stop.
    for (let i = 0; i < 200; i++) {
      const m = (await call(url, "/metrics")).text.match(/^bert_ts_queue_requests (\d+)/m);
      if (m && Number(m[1]) >= 4) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    // Then valid traffic until the server is gone: each answer is exact, or a clear 503 while draining.
    const counts = { exact: 0, draining: 0, refused: 0, wrong: [] as string[] };
    const traffic = Promise.all(
      Array.from({ length: 3 }, async () => {
        for (;;) {
          const res = await post(url, "/embed", small).catch(() => undefined);
          if (!res) return void counts.refused++;
          if (res.status === 200 && res.text === smallExpected) counts.exact++;
          else if (res.status === 503 && res.json?.error === "The server is shutting down") counts.draining++;
          else counts.wrong.push(`${res.status} ${res.text.slice(0, 120)}`);
        }
      }),
    );
    child.kill("SIGTERM");
    const replies = await Promise.all(inflight);
    replies.forEach((r, i) => assert.equal(r.text, expected[i].text, `in-flight request ${i}: ${r.status} ${r.text.slice(0, 200)}`));
    assert.equal(await exited, 0, stderr());
    await traffic;
    assert.deepEqual(counts.wrong, [], "valid requests answered wrongly");
    // Each client ends on a refused connection once the server is gone. On a loaded machine the
    // listener may close before a client's first request lands, so answers may number zero.
    assert.equal(counts.refused, 3, JSON.stringify(counts));
    assert.match(stderr(), /SIGTERM: finishing in-flight requests/);
    await assert.rejects(fetch(url + "/health"), "no longer accepting connections");
  });
});
