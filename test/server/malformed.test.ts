/**
 * Must show: hundreds of generated malformed requests (bad JSON, wrong types, huge and deep
 * payloads, bad encodings and framing, invalid UTF-8, empty inputs, unknown routes and methods,
 * slow and cut-short bodies, protocol garbage) sent over raw sockets to a spawned `bert-ts serve`
 * while valid traffic keeps flowing. Counted and asserted: crashes 0, hangs 0, answers other than
 * a JSON 4xx 0, valid responses lost or wrong 0.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { describe, it } from "node:test";
import { modelPath } from "../helpers/paths.js";
import { BUILT_WORKER, MINILM, SEQCLS, post, rawRequest, skipUnlessServerModels, spawnServer } from "./helpers.js";
import { type Malformed, generateMalformed, isJsonClientError } from "./malformed-requests.js";

/** Sends every request with `concurrency` at a time; never throws. */
async function sendAll(port: number, cases: Malformed[], concurrency: number) {
  const replies: { c: Malformed; status: number; hung: boolean; body: string }[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < cases.length) {
        const c = cases[next++];
        const r = await rawRequest(port, c.chunks, { gapMs: c.gapMs, timeoutMs: 30_000 });
        replies.push({ c, status: r.status, hung: r.hung, body: r.body });
      }
    }),
  );
  return replies;
}

describe("bert-ts serve: malformed requests under valid traffic", { skip: skipUnlessServerModels() }, () => {
  it("answers ≥ 300 malformed requests with a JSON 4xx, no crash, no hang, and every valid request exactly", {
    skip: !existsSync(BUILT_WORKER) && !process.env.CI && "dist/ is not built (npm run build)",
  }, async () => {
    const cases = generateMalformed();
    assert.ok(cases.length >= 300, `${cases.length} malformed requests generated`);
    const { child, url, stderr, exited } = await spawnServer([
      "--model", modelPath(MINILM), "--classifier", modelPath(SEQCLS), "--port", "0", "--request-timeout", "2", "--workers", "2", "--threads", "1",
    ]);
    let crashed = false;
    void exited.then(() => (crashed = true));
    try {
      const port = Number(new URL(url).port);
      const valid = [
        { path: "/embed", body: { inputs: ["The cat sat on the mat.", "Hello, world!"] } },
        { path: "/predict", body: { inputs: ["How old are you?", "I am six years old."] } },
        { path: "/v1/embeddings", body: { input: "Café naïve résumé", model: "x" } },
        { path: "/embed_all", body: { inputs: "short one" } },
        { path: "/tokenize", body: { inputs: "unaffable" } },
      ];
      const expected = await Promise.all(valid.map((v) => post(url, v.path, v.body)));
      expected.forEach((e) => assert.equal(e.status, 200, e.text));

      let stop = false;
      const validCounts = { exact: 0, lostOrWrong: [] as string[] };
      const traffic = Promise.all(
        Array.from({ length: 3 }, async (_, w) => {
          for (let i = w; !stop; i++) {
            const v = valid[i % valid.length];
            const res = await post(url, v.path, v.body).catch((e: Error) => ({ status: 0, text: e.message }));
            if (res.status === 200 && res.text === expected[i % valid.length].text) validCounts.exact++;
            else validCounts.lostOrWrong.push(`${v.path}: ${res.status} ${res.text.slice(0, 120)}`);
          }
        }),
      );
      const replies = await sendAll(port, cases, 12);
      stop = true;
      await traffic;

      const byStatus = new Map<number, number>();
      const byCategory = new Map<string, number>();
      const unexpected: string[] = [];
      for (const r of replies) {
        byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
        byCategory.set(r.c.category, (byCategory.get(r.c.category) ?? 0) + 1);
        if (!isJsonClientError(r.status, r.body) && !r.hung) unexpected.push(`${r.c.category}: ${r.status} ${r.body.slice(0, 120)} ← ${Buffer.from(r.c.chunks[0]).toString("latin1").slice(0, 80).replace(/\r\n/g, "⏎")}`);
      }
      const hangs = replies.filter((r) => r.hung).length;
      const summary = [
        `malformed: ${replies.length} sent (${[...byCategory].map(([c, n]) => `${c} ${n}`).join(", ")})`,
        `  answered by status: ${[...byStatus].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}: ${n}`).join(", ")}`,
        `  crashes ${crashed ? 1 : 0}, hangs ${hangs}, answers other than a JSON 4xx ${unexpected.length}`,
        `valid: ${validCounts.exact} answered exactly, ${validCounts.lostOrWrong.length} lost or wrong`,
      ].join("\n");
      console.log(summary);
      assert.equal(crashed, false, `the server exited: ${stderr()}`);
      assert.equal(hangs, 0, summary);
      assert.deepEqual(unexpected, [], summary);
      assert.deepEqual(validCounts.lostOrWrong, [], summary);
      assert.ok(validCounts.exact > 0, summary);
      assert.equal((await post(url, "/embed", valid[0].body)).text, expected[0].text, "still serving");
    } finally {
      child.kill("SIGKILL");
      await exited;
    }
  });
});
