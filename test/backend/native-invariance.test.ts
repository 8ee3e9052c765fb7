/**
 * Batch invariance of the native backend, bit for bit: a row's linear / LayerNorm output, and a
 * sequence's attention output, must not depend on the batch around it (its size, the row's position,
 * the other rows), on the thread count, or on the JS thread calling (main or worker_threads).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { Worker } from "node:worker_threads";
import { NATIVE_ADDON_PATH, NativeBackend } from "../../src/backend/native.js";
import type { Activation } from "../../src/backend/backend.js";
import { addon, assertBitEqual, isas, randomArray, rng, skipNative } from "./native-helpers.js";

const BATCH_SIZES = [1, 2, 7, 8, 9, 15, 16, 17, 64, 129, 300];

function rowsOf(a: Float32Array, width: number, rows: number[]): Float32Array {
  const out = new Float32Array(rows.length * width);
  rows.forEach((r, i) => out.set(a.subarray(r * width, (r + 1) * width), i * width));
  return out;
}

describe("native batch invariance", { skip: skipNative }, () => {
  const threads = addon().info().threads;
  for (const isa of isas()) {
    describe(isa, () => {
      const nb = new NativeBackend(addon(), isa);

      it("linear: a row alone equals the same row anywhere in any batch, on 1 or all threads", () => {
        const rand = rng(31);
        const shapes: [number, number, Activation][] = [
          [1536, 384, "gelu"],
          [129, 513, "none"],
          [384, 1536, "none"],
        ];
        for (const [n, k, act] of shapes) {
          const pool = randomArray(400 * k, rand);
          const params = nb.prepareLinear(randomArray(n * k, rand), randomArray(n, rand), n, k);
          const alone = (r: number) => nb.linear(pool.subarray(r * k, (r + 1) * k), 1, params, act);
          for (const m of BATCH_SIZES) {
            // The target row at the front, the back and the middle of a batch of other rows.
            const target = Math.floor(rand() * 400);
            const want = alone(target);
            for (const pos of new Set([0, m - 1, m >> 1])) {
              const rows = Array.from({ length: m }, () => Math.floor(rand() * 400));
              rows[pos] = target;
              const y = nb.linear(rowsOf(pool, k, rows), m, params, act);
              assertBitEqual(`${isa} ${n}x${k} row at ${pos} of ${m}`, y.subarray(pos * n, (pos + 1) * n), want);
            }
          }
          const batch = pool.subarray(0, 300 * k);
          const all = nb.linear(batch, 300, params, act);
          try {
            addon().setThreads(1);
            assertBitEqual(`${isa} ${n}x${k} 1 thread vs ${threads}`, nb.linear(batch, 300, params, act), all);
          } finally {
            addon().setThreads(threads);
          }
        }
      });

      it("addLayerNorm: a row alone equals the same row in a batch", () => {
        const rand = rng(32);
        const cols = 768;
        const x = randomArray(200 * cols, rand, 4);
        const res = randomArray(200 * cols, rand);
        const gamma = randomArray(cols, rand);
        const beta = randomArray(cols, rand);
        const all = nb.addLayerNorm(x, res, 200, cols, gamma, beta, 1e-12);
        for (const r of [0, 1, 99, 199]) {
          const one = nb.addLayerNorm(
            x.subarray(r * cols, (r + 1) * cols),
            res.subarray(r * cols, (r + 1) * cols),
            1,
            cols,
            gamma,
            beta,
            1e-12,
          );
          assertBitEqual(`${isa} layernorm row ${r}`, one, all.subarray(r * cols, (r + 1) * cols));
        }
      });

      it("attention: a sequence alone equals the same sequence anywhere in a pack", () => {
        const rand = rng(33);
        const [heads, d] = [4, 32];
        const hidden = heads * d;
        // Whole-row kernel up to 512 tokens, flash kernel beyond (513); heads grouped per task
        // differently alone (one sequence: a head or two per task) and in a pack (whole sequences).
        for (const len of [1, 5, 16, 17, 38, 64, 128, 130, 513]) {
          const seq = randomArray(len * 3 * hidden, rand);
          const alone = nb.attention(seq, Int32Array.of(0, len), heads, d, 0.17, true);
          for (const others of [[3], [130, 1], [17, 64, 2, 33]]) {
            for (let pos = 0; pos <= others.length; pos++) {
              const lens = [...others];
              lens.splice(pos, 0, len);
              const starts = new Int32Array(lens.length + 1);
              lens.forEach((l, i) => (starts[i + 1] = starts[i] + l));
              const qkv = randomArray(starts[lens.length] * 3 * hidden, rand);
              qkv.set(seq, starts[pos] * 3 * hidden);
              const packed = nb.attention(qkv, starts, heads, d, 0.17, true);
              const ctx = packed.context.subarray(starts[pos] * hidden, starts[pos + 1] * hidden);
              assertBitEqual(`${isa} attention len ${len} at ${pos} of [${lens}]`, ctx, alone.context);
              assertBitEqual(`${isa} probs len ${len} at ${pos} of [${lens}]`, packed.probs![pos], alone.probs![0]);
            }
          }
          try {
            addon().setThreads(1);
            assertBitEqual(`${isa} attention len ${len} on 1 thread vs ${threads}`, nb.attention(seq, Int32Array.of(0, len), heads, d, 0.17).context, alone.context);
          } finally {
            addon().setThreads(threads);
          }
        }
      });
    });
  }

  it("loads in worker_threads and gives the main thread's bits while both run at once", async () => {
    const rand = rng(34);
    const [m, n, k] = [96, 768, 768];
    const x = randomArray(m * k, rand);
    const w = randomArray(n * k, rand);
    const a = addon();
    const isa = a.isaIndex(a.info().best);
    const want = new Float32Array(m * n);
    a.linear(a.prepareLinear(isa, w, 0, null, n, k), x, m, 1, want);
    // Plain CommonJS so the worker needs no TypeScript loader.
    const code = `
      const { parentPort, workerData } = require("node:worker_threads");
      const a = require(workerData.path);
      const h = a.prepareLinear(workerData.isa, workerData.w, 0, null, workerData.n, workerData.k);
      const outs = [];
      for (let i = 0; i < 20; i++) {
        const y = new Float32Array(workerData.m * workerData.n);
        a.linear(h, workerData.x, workerData.m, 1, y);
        outs.push(y);
      }
      parentPort.postMessage(outs);
    `;
    const workers = [0, 1].map(
      () => new Worker(code, { eval: true, workerData: { path: NATIVE_ADDON_PATH, isa, w, x, m, n, k } }),
    );
    const results = workers.map(
      (wk) =>
        new Promise<Float32Array[]>((resolve, reject) => {
          wk.once("message", resolve);
          wk.once("error", reject);
        }),
    );
    // Meanwhile the main thread keeps computing too.
    const h = a.prepareLinear(isa, w, 0, null, n, k);
    for (let i = 0; i < 20; i++) {
      const y = new Float32Array(m * n);
      a.linear(h, x, m, 1, y);
      assertBitEqual(`main thread run ${i}`, y, want);
    }
    for (const outs of await Promise.all(results)) {
      assert.equal(outs.length, 20);
      outs.forEach((y, i) => assertBitEqual(`worker run ${i}`, y, want));
    }
    await Promise.all(workers.map((wk) => wk.terminate()));
  });
});
