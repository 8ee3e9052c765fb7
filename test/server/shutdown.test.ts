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
  it("finishes in-flight requests on SIGTERM, then exits 0", { skip: !existsSync(BUILT_WORKER) && !process.env.CI && "dist/ is not built (npm run build)" }, async () => {
    const { child, url, stderr, exited } = await spawnServer(["--model", modelPath(MINILM), "--port", "0", "--max-batch-tokens", "256"]);
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.match(stderr(), /RANDOM weights/i, "random-weight checkpoints are flagged");
    assert.equal((await call(url, "/health")).status, 200);

    const sentences = readFileSync(CORPUS_FILE, "utf8").split("\n").filter((l) => l.length > 100);
    const inflight = Array.from({ length: 4 }, (_, r) => post(url, "/embed", { inputs: sentences.slice(r * 12, r * 12 + 12), truncate: true }));
    // Wait until the server holds them, then ask it to stop.
    for (let i = 0; i < 200; i++) {
      const m = (await call(url, "/metrics")).text.match(/^bert_ts_queue_requests (\d+)/m);
      if (m && Number(m[1]) >= 4) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill("SIGTERM");
    const replies = await Promise.all(inflight);
    replies.forEach((r, i) => {
      assert.equal(r.status, 200, `in-flight request ${i}: ${r.text.slice(0, 200)}`);
      assert.equal(r.json.length, 12);
    });
    assert.equal(await exited, 0, stderr());
    assert.match(stderr(), /SIGTERM: finishing in-flight requests/);
    await assert.rejects(fetch(url + "/health"), "no longer accepting connections");
  });
});
