/**
 * Backend.linearAddLayerNorm on the native kernels: bit for bit linear() then addLayerNorm(), for
 * every kernel set and dtype, on shapes where the tasks own whole rows (the fused path: one thread,
 * or low precision with enough rows) and where they do not (the two-pass fallback), on 1 and on all
 * threads; and a clear error when the output overlaps an input.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { NativeBackend } from "../../src/backend/native.js";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { addon, assertBitEqual, assertClose, isas, randomArray, rng, skipNative } from "./native-helpers.js";

// [rows, out, in]: 384-wide outputs as in MiniLM (fused on every split for int8/bf16 from 64 rows),
// odd sizes hitting the edge tiles, and a few rows (one task whatever the thread count).
const SHAPES: [number, number, number][] = [
  [212, 384, 384],
  [300, 384, 1536],
  [97, 100, 65],
  [5, 48, 33],
];

describe("native linearAddLayerNorm", { skip: skipNative }, () => {
  const threads = addon().info().threads;
  for (const isa of isas()) {
    for (const dtype of ["float32", "bf16", "int8"] as const) {
      it(`${isa} ${dtype}: the same bits as linear then addLayerNorm, on 1 and ${threads} threads`, () => {
        const nb = new NativeBackend(addon(), isa, dtype);
        let seed = 31;
        for (const [m, n, k] of SHAPES) {
          const rand = rng(seed++);
          const x = randomArray(m * k, rand, 2);
          const residual = randomArray(m * n, rand, 3);
          const gamma = randomArray(n, rand);
          const beta = randomArray(n, rand);
          const params = nb.prepareLinear(randomArray(n * k, rand, 0.2), randomArray(n, rand), n, k);
          const twoPass = nb.addLayerNorm(nb.linear(x, m, params), residual, m, n, gamma, beta, 1e-12);
          for (const t of [1, threads]) {
            addon().setThreads(t);
            try {
              const fused = nb.linearAddLayerNorm(x, m, params, residual, { gamma, beta, eps: 1e-12 });
              assertBitEqual(`${isa} ${dtype} ${m}x${k} -> ${n}, ${t} thread(s)`, fused, twoPass);
            } finally {
              addon().setThreads(threads);
            }
          }
        }
      });
    }
  }

  it("float32 agrees with the reference backend's linear + LayerNorm", () => {
    const nb = new NativeBackend(addon());
    const ref = new ReferenceBackend();
    const rand = rng(5);
    const [m, n, k] = [70, 384, 384];
    const x = randomArray(m * k, rand);
    const w = randomArray(n * k, rand, 0.1);
    const b = randomArray(n, rand);
    const residual = randomArray(m * n, rand);
    const gamma = randomArray(n, rand);
    const beta = randomArray(n, rand);
    const got = nb.linearAddLayerNorm(x, m, nb.prepareLinear(w, b, n, k), residual, { gamma, beta, eps: 1e-12 });
    const want = ref.linearAddLayerNorm(x, m, ref.prepareLinear(w, b, n, k), residual, { gamma, beta, eps: 1e-12 });
    assertClose("native vs reference", got, want, { rel: 1e-4, abs: 1e-4 });
  });

  it("rejects an output that overlaps x or the residual", () => {
    const nb = new NativeBackend(addon());
    const rand = rng(6);
    const [m, n] = [4, 16];
    const params = nb.prepareLinear(randomArray(n * n, rand), null, n, n);
    const x = randomArray(m * n, rand);
    const residual = randomArray(m * n, rand);
    const gamma = randomArray(n, rand);
    const beta = randomArray(n, rand);
    assert.throws(() => nb.linearAddLayerNorm(x, m, params, residual, { gamma, beta, eps: 1e-5 }, residual), /overlaps an input/);
    assert.throws(() => nb.linearAddLayerNorm(x, m, params, residual, { gamma, beta, eps: 1e-5 }, x), /overlaps an input/);
    const shared = new Float32Array(3 * m * n);
    const xs = shared.subarray(0, m * n);
    xs.set(x);
    assert.throws(() => nb.linearAddLayerNorm(xs, m, params, residual, { gamma, beta, eps: 1e-5 }, shared.subarray(m * n - 1, 2 * m * n - 1)), /overlaps an input/);
    // Adjacent, not overlapping: fine.
    const y = nb.linearAddLayerNorm(xs, m, params, residual, { gamma, beta, eps: 1e-5 }, shared.subarray(m * n, 2 * m * n));
    assert.equal(y.length, m * n);
  });
});
