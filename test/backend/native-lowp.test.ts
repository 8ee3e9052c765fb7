/**
 * The int8 and bf16 linear kernels (every kernel set this CPU has: AVX-512 VNNI/BF16, the AVX2 and
 * portable loops) against the naive C++ reference that spells the same quantisation out, on shapes
 * that hit the edge paths (partial tiles in M and N, K not a multiple of the k-group), plus batch
 * invariance bit for bit and NaN propagation.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ACTIVATION_CODES, DTYPE_CODES, NativeBackend } from "../../src/backend/native.js";
import type { Activation, Dtype } from "../../src/backend/backend.js";
import { abs, addon, assertBitEqual, assertClose, isas, randomArray, rng, skipNative } from "./native-helpers.js";

const SHAPES: [number, number, number][] = [
  [1, 1, 1],
  [3, 5, 7],
  [9, 17, 33],
  [8, 48, 64],
  [17, 49, 383],
  [65, 97, 385],
  [130, 1536, 384],
  [33, 384, 1536],
];

function naive(x: Float32Array, w: Float32Array, b: Float32Array | null, m: number, n: number, k: number, act: Activation, dtype: Dtype) {
  const y = new Float32Array(m * n);
  addon().naiveLinearLowp(x, w, b, m, n, k, ACTIVATION_CODES[act], DTYPE_CODES[dtype], y);
  return y;
}

describe("native low-precision linear", { skip: skipNative }, () => {
  it("BERT_TS_KERNELS forces a kernel set, for float32 and low precision alike", () => {
    const saved = process.env.BERT_TS_KERNELS;
    try {
      for (const isa of isas()) {
        process.env.BERT_TS_KERNELS = isa;
        for (const dtype of ["float32", "int8"] as const) {
          const nb = new NativeBackend(addon(), undefined, dtype);
          assert.equal(nb.isa, isa);
          assert.match(nb.name, dtype === "int8" ? new RegExp(`native ${isa} int8 \\(${addon().info().lowp[isa]}\\)`) : new RegExp(`native ${isa} x`));
        }
      }
      process.env.BERT_TS_KERNELS = "sse9";
      assert.throws(() => new NativeBackend(addon()), /kernel set this CPU supports/);
    } finally {
      if (saved === undefined) delete process.env.BERT_TS_KERNELS;
      else process.env.BERT_TS_KERNELS = saved;
    }
  });

  for (const isa of isas()) {
    describe(isa, () => {
      const int8 = new NativeBackend(addon(), isa, "int8");
      const bf16 = new NativeBackend(addon(), isa, "bf16");

      it("int8 equals the naive quantised kernel exactly (integer sums), with and without bias", () => {
        let seed = 100;
        for (const [m, n, k] of SHAPES) {
          const rand = rng(seed++);
          // Rows of mixed sign and all-positive rows (zero point 0), one all-zero row.
          const x = randomArray(m * k, rand, 3);
          for (let i = 0; i < k; i++) x[i] = Math.abs(x[i]);
          if (m > 2) x.fill(0, k, 2 * k);
          const w = randomArray(n * k, rand, 0.2);
          const b = seed % 2 ? randomArray(n, rand) : null;
          const got = int8.linear(x, m, int8.prepareLinear(w, b, n, k));
          assertBitEqual(`${isa} int8 ${m}x${k}.(${n}x${k})^T`, got, naive(x, w, b, m, n, k, "none", "int8"));
        }
      });

      it("int8 with activations in the epilogue matches the naive kernel", () => {
        const rand = rng(7);
        const [m, n, k] = [37, 100, 129];
        const x = randomArray(m * k, rand, 2);
        const w = randomArray(n * k, rand, 0.3);
        const b = randomArray(n, rand);
        const params = int8.prepareLinear(w, b, n, k);
        for (const act of ["gelu", "gelu_new", "relu", "tanh"] as Activation[]) {
          assertClose(`${isa} int8 ${act}`, int8.linear(x, m, params, act), naive(x, w, b, m, n, k, act, "int8"), { rel: 2e-6, abs: 2e-6 });
        }
      });

      it("bf16 matches the naive bf16 kernel (float32 against double sums of the same rounded values)", () => {
        let seed = 200;
        for (const [m, n, k] of SHAPES) {
          const rand = rng(seed++);
          const x = randomArray(m * k, rand, 2);
          const w = randomArray(n * k, rand, 0.5);
          const b = randomArray(n, rand);
          const got = bf16.linear(x, m, bf16.prepareLinear(w, b, n, k), "gelu");
          const want = naive(x, w, b, m, n, k, "gelu", "bf16");
          const scale = new Float32Array(m * n);
          addon().naiveLinear(abs(x), abs(w), abs(b), m, n, k, 0, scale);
          assertClose(`${isa} bf16 ${m}x${k}.(${n}x${k})^T`, got, want, { rel: 1e-5, abs: 1e-6, scale });
        }
      });

      it("both are close to float32 (quantisation error, not a wrong element)", () => {
        const rand = rng(9);
        const [m, n, k] = [64, 384, 384];
        const x = randomArray(m * k, rand);
        const w = randomArray(n * k, rand, 0.05);
        const f32 = new Float32Array(m * n);
        addon().naiveLinear(x, w, null, m, n, k, 0, f32);
        for (const [nb, tol] of [
          [int8, 0.02],
          [bf16, 0.005],
        ] as const) {
          const got = nb.linear(x, m, nb.prepareLinear(w, null, n, k));
          let err = 0;
          let ref = 0;
          for (let i = 0; i < f32.length; i++) {
            err += (got[i] - f32[i]) ** 2;
            ref += f32[i] ** 2;
          }
          assert.ok(Math.sqrt(err / ref) < tol, `${isa} ${nb.dtype}: relative RMS error ${Math.sqrt(err / ref)} >= ${tol}`);
        }
      });

      it("a row alone equals the same row in any batch, on 1 or all threads", () => {
        const threads = addon().info().threads;
        const rand = rng(11);
        for (const nb of [int8, bf16]) {
          const [n, k] = [1536, 384];
          const pool = randomArray(300 * k, rand);
          const params = nb.prepareLinear(randomArray(n * k, rand, 0.1), randomArray(n, rand), n, k);
          const all = nb.linear(pool, 300, params, "gelu");
          for (const r of [0, 7, 150, 299]) {
            assertBitEqual(`${isa} ${nb.dtype} row ${r}`, nb.linear(pool.subarray(r * k, (r + 1) * k), 1, params, "gelu"), all.subarray(r * n, (r + 1) * n));
          }
          try {
            addon().setThreads(1);
            assertBitEqual(`${isa} ${nb.dtype} 1 thread vs ${threads}`, nb.linear(pool, 300, params, "gelu"), all);
          } finally {
            addon().setThreads(threads);
          }
        }
      });

      it("a NaN or Inf input gives NaN outputs in its row only", () => {
        const rand = rng(12);
        const [m, n, k] = [3, 20, 40];
        for (const nb of [int8, bf16]) {
          for (const bad of [NaN, Infinity]) {
            const x = randomArray(m * k, rand);
            x[k + 5] = bad;
            const y = nb.linear(x, m, nb.prepareLinear(randomArray(n * k, rand), null, n, k));
            assert.ok(y.subarray(0, n).every(Number.isFinite), `${isa} ${nb.dtype}: row 0 finite`);
            assert.ok(y.subarray(2 * n).every(Number.isFinite), `${isa} ${nb.dtype}: row 2 finite`);
            // bf16 keeps Inf as Inf times weights of both signs: Inf, -Inf or NaN, never a finite value.
            assert.ok(!y.subarray(n, 2 * n).some(Number.isFinite), `${isa} ${nb.dtype} ${bad}: row 1 not finite`);
          }
        }
      });
    });
  }
});
