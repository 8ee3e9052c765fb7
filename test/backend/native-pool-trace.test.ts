/**
 * BERT_TS_POOL_TRACE (native/src/kernels/thread_pool.cc): one line per pool job, written at exit,
 * with the job's tasks, the helpers' share and when each side started and ended. The switch is read
 * when the addon first runs a job, so a child process runs it. Work counts only: whether a helper
 * took a task depends on the host's scheduler, so the test checks that the fields agree with each
 * other, not what they are.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DTYPE_CODES, NATIVE_ADDON_PATH } from "../../src/backend/native.js";
import { skipNative } from "./native-helpers.js";

// Plain CommonJS for `node -e`. Packing runs on one thread (no job); then 20 int8 linear calls of
// 212 rows on two threads: each is one job of 4 row tasks (ops.cc, split_lowp).
const child = `
  const a = require(${JSON.stringify(NATIVE_ADDON_PATH)});
  const isa = a.isaIndex(a.info().best);
  const [m, n, k] = [212, 1536, 384];
  a.setThreads(1);
  const h = a.prepareLinear(isa, new Float32Array(n * k).map((_, i) => Math.cos(i) * 0.05), 0, null, n, k, ${DTYPE_CODES.int8});
  const x = new Float32Array(m * k).map((_, i) => Math.sin(i));
  const y = new Float32Array(m * n);
  for (let i = 0; i < 3; i++) a.linear(h, x, m, 0, y);
  a.setThreads(2);
  for (let i = 0; i < 20; i++) a.linear(h, x, m, 0, y);
`;

describe("native pool trace", { skip: skipNative }, () => {
  it("writes one consistent line per job run on the pool, none for one thread", () => {
    const dir = mkdtempSync(join(tmpdir(), "bert-ts-pool-trace-"));
    try {
      const file = join(dir, "trace.txt");
      const res = spawnSync(process.execPath, ["-e", child], { encoding: "utf8", timeout: 120_000, env: { ...process.env, BERT_TS_POOL_TRACE: file } });
      assert.equal(res.status, 0, res.stderr);
      const lines = readFileSync(file, "utf8").trim().split("\n");
      assert.equal(lines.length, 20, "one job per two-thread call, none on one thread");
      const fns = new Set<string>();
      for (const line of lines) {
        const f = line.split(" ");
        assert.equal(f.length, 9, line);
        assert.match(f[0], /^[0-9a-f]+$/);
        fns.add(f[0]);
        const [ntasks, helperTasks, asleep, start, helperEnd, callerEnd, end, gap] = f.slice(1).map(Number);
        assert.equal(ntasks, 4, line);
        assert.ok(helperTasks >= 0 && helperTasks <= ntasks, line);
        assert.ok(asleep === 0 || asleep === 1, line);
        // A helper that took nothing has no start or end; one that did started after publication
        // and ended before the job did (the caller waits for every task).
        assert.equal(start === -1, helperTasks === 0, line);
        assert.equal(helperEnd === -1, helperTasks === 0, line);
        if (helperTasks > 0) assert.ok(start >= 0 && start <= helperEnd && helperEnd <= end, line);
        assert.ok(callerEnd >= 0 && callerEnd <= end, line);
        assert.ok(gap >= 0, line);
      }
      assert.equal(fns.size, 1, "every job ran the same task function");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
