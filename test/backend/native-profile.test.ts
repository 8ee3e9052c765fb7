/**
 * BERT_TS_PROFILE's per-op table: a linear layer's entry counts its calls and arithmetic, and the
 * pool helpers' CPU time in its tasks is kept apart from the calling thread's (0 on one thread, where
 * every task runs on the caller). The profile switch is read when the addon loads, so a child
 * process runs it.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { DTYPE_CODES, NATIVE_ADDON_PATH } from "../../src/backend/native.js";
import { skipNative } from "./native-helpers.js";

// Plain CommonJS for `node -e`: no TypeScript loader, so the child starts fast.
const child = `
  const a = require(${JSON.stringify(NATIVE_ADDON_PATH)});
  const isa = a.isaIndex(a.info().best);
  const [m, n, k] = [212, 1536, 384];
  const x = new Float32Array(m * k).map((_, i) => Math.sin(i));
  const h = a.prepareLinear(isa, new Float32Array(n * k).map((_, i) => Math.cos(i) * 0.05), 0, null, n, k, ${DTYPE_CODES.int8});
  const y = new Float32Array(m * n);
  const entry = () => a.profile().find((e) => e.op === "linear int8 " + n + "x" + k);
  a.setThreads(1);
  a.profileReset();
  for (let i = 0; i < 3; i++) a.linear(h, x, m, 0, y);
  const one = entry();
  a.setThreads(2);
  a.profileReset();
  for (let i = 0; i < 20; i++) a.linear(h, x, m, 0, y);
  const two = entry();
  console.log(JSON.stringify({ profiling: a.info().profiling, one, two }));
`;

describe("native profile", { skip: skipNative }, () => {
  it("counts a linear layer's calls and operations, and its pool helpers' CPU time apart from the caller's", () => {
    const res = spawnSync(process.execPath, ["-e", child], { encoding: "utf8", timeout: 120_000, env: { ...process.env, BERT_TS_PROFILE: "1" } });
    assert.equal(res.status, 0, res.stderr);
    const { profiling, one, two } = JSON.parse(res.stdout.trim().split("\n").pop()!);
    assert.equal(profiling, true);
    const flops = 2 * 212 * 1536 * 384;
    assert.equal(one.calls, 3);
    assert.equal(one.flops, 3 * flops);
    assert.ok(one.cpuSeconds > 0);
    assert.equal(one.helperCpuSeconds, 0, "one thread: every task ran on the calling thread");
    assert.equal(two.calls, 20);
    assert.equal(two.flops, 20 * flops);
    // Whether a helper took a task depends on the host's scheduler; its time is a real CPU time.
    assert.ok(Number.isFinite(two.helperCpuSeconds) && two.helperCpuSeconds >= 0);
  });
});
