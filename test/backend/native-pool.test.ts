/**
 * The native thread pool: parallel work right after the addon loads (workers not yet running),
 * thread-count changes between calls, and several JS threads sharing the pool. A hang fails the
 * test through the child process' timeout.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { NATIVE_ADDON_PATH } from "../../src/backend/native.js";
import { skipNative } from "./native-helpers.js";

// Plain CommonJS for `node -e`: no TypeScript loader, so each child starts fast.
const child = `
  const a = require(${JSON.stringify(NATIVE_ADDON_PATH)});
  const isa = a.isaIndex(a.info().best);
  const [m, n, k] = [64, 256, 256];
  const x = new Float32Array(m * k).map((_, i) => Math.sin(i));
  const h = a.prepareLinear(isa, new Float32Array(n * k).map((_, i) => Math.cos(i)), 0, null, n, k);
  const y1 = new Float32Array(m * n), y = new Float32Array(m * n);
  a.setThreads(1);
  a.linear(h, x, m, 0, y1);
  for (let round = 0; round < 200; round++) {
    a.setThreads(1 + (round % 3));  // 1, 2, 3 threads: workers created while jobs come and go
    a.linear(h, x, m, 0, y);
    for (let i = 0; i < y.length; i++) if (y[i] !== y1[i]) throw new Error("thread count changed the result");
  }
  console.log("ok");
`;

describe("native thread pool", { skip: skipNative }, () => {
  it("runs parallel jobs right after loading and across thread-count changes, without hanging", () => {
    for (let i = 0; i < 8; i++) {
      const res = spawnSync(process.execPath, ["-e", child], { encoding: "utf8", timeout: 60_000 });
      assert.equal(res.signal, null, `child ${i} was killed (${res.signal}): the pool hung`);
      assert.equal(res.status, 0, res.stderr);
      assert.equal(res.stdout.trim(), "ok");
    }
  });
});
