/**
 * The native linear kernels (every kernel set this CPU has) against the naive C++ kernel and the
 * TypeScript reference backend, on shapes that hit every edge path of the tiled GEMM: partial
 * micro-tiles in M and N (MR = 4/6/8, NR = 8/16/48), K around the K-blocks (256; 512 on AVX-512),
 * M around the row block (mc) and the thread split.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { ACTIVATION_CODES, NativeBackend } from "../../src/backend/native.js";
import { weightsToFloat32, type Activation } from "../../src/backend/backend.js";
import { abs, addon, assertClose, isas, randomArray, rng, skipNative } from "./native-helpers.js";

const ACTIVATIONS: Activation[] = ["none", "gelu", "gelu_new", "gelu_pytorch_tanh", "relu", "tanh"];

/**
 * Float32 accumulation of K products: the error is a small multiple of K * 2^-24 times the sum of
 * |x w| in the worst case; random signs make it far smaller. 1e-5 of that sum (plus 1e-6 for the
 * activation) leaves room while still catching any wrong element.
 */
function checkLinear(nb: NativeBackend, m: number, n: number, k: number, act: Activation, seed: number, withBias = true) {
  const rand = rng(seed);
  const x = randomArray(m * k, rand);
  const w = randomArray(n * k, rand);
  const b = withBias ? randomArray(n, rand) : null;
  const got = nb.linear(x, m, nb.prepareLinear(w, b, n, k), act);
  const want = new Float32Array(m * n);
  const scale = new Float32Array(m * n);
  const a = addon();
  a.naiveLinear(x, w, b, m, n, k, ACTIVATION_CODES[act], want);
  a.naiveLinear(abs(x), abs(w), b ? abs(b) : null, m, n, k, 0, scale);
  for (let i = 0; i < scale.length; i++) scale[i] += Math.abs(want[i]);
  assertClose(`${nb.isa} linear ${m}x${k} . (${n}x${k})^T ${act}`, got, want, { rel: 1e-5, abs: 1e-6, scale });
}

describe("native linear", { skip: skipNative }, () => {
  for (const isa of isas()) {
    describe(isa, () => {
      const nb = new NativeBackend(addon(), isa);

      it("matches the naive kernel on every combination of small odd sizes", () => {
        const sizes = [1, 3, 15, 16, 17, 31, 33, 47, 48, 49, 63, 65];
        let seed = 1;
        for (const m of sizes) for (const n of sizes) for (const k of sizes) checkLinear(nb, m, n, k, "none", seed++);
      });

      it("matches across the K-block, row-block and thread-split boundaries", () => {
        const shapes: [number, number, number][] = [
          [1, 1536, 384],
          [3, 384, 1536],
          [127, 129, 255],
          [128, 97, 256],
          [129, 65, 257],
          [65, 48, 511],
          [17, 33, 513],
          [257, 127, 129],
          [300, 200, 100],
          [384, 63, 384],
          [33, 3072, 768],
          [9, 768, 3072],
          [127, 1536, 129],
          [129, 127, 1536],
          [1536, 65, 33],
          [384, 384, 127],
          [31, 129, 1536],
          [2048, 17, 15],
          [5, 40, 1023],
          [9, 50, 1025],
        ];
        let seed = 1000;
        for (const [m, n, k] of shapes) checkLinear(nb, m, n, k, "none", seed++);
        checkLinear(nb, 64, 96, 300, "none", seed++, false);
      });

      it("fuses every activation into the epilogue", () => {
        let seed = 2000;
        for (const act of ACTIVATIONS) {
          for (const [m, n, k] of [
            [1, 1, 1],
            [17, 49, 31],
            [129, 130, 300],
          ] as [number, number, number][]) {
            checkLinear(nb, m, n, k, act, seed++);
          }
        }
      });

      it("matches the TypeScript reference backend on a BERT-sized layer", () => {
        const ref = new ReferenceBackend();
        const rand = rng(7);
        const [m, n, k] = [37, 1536, 384];
        const x = randomArray(m * k, rand);
        const w = randomArray(n * k, rand, 0.1);
        const b = randomArray(n, rand, 0.1);
        for (const act of ["none", "gelu"] as Activation[]) {
          const got = nb.linear(x, m, nb.prepareLinear(w, b, n, k), act);
          const want = ref.linear(x, m, ref.prepareLinear(w, b, n, k), act);
          assertClose(`${isa} vs reference ${act}`, got, want, { rel: 1e-4, abs: 2e-5 });
        }
      });

      it("computes activations to ~1e-7 relative", () => {
        const a = addon();
        const code = a.isaIndex(isa);
        const xs: number[] = [0, -0, 1e-30, -1e-30, 1e-8, -1e-8, 1e-4, -1e-4, 100, -100, 1e6, -1e6, 88, -88, 1e30, -1e30];
        for (let v = -12; v <= 12; v += 1 / 512) xs.push(v);
        const x = Float32Array.from(xs);
        for (const act of ACTIVATIONS) {
          const got = x.slice();
          a.activate(code, got, ACTIVATION_CODES[act]);
          // Reference: libm in double, through the naive 1x1 linear (w = 1, no bias).
          const want = new Float32Array(x.length);
          const one = Float32Array.of(1);
          for (let i = 0; i < x.length; i++) {
            const out = new Float32Array(1);
            a.naiveLinear(x.subarray(i, i + 1), one, null, 1, 1, 1, ACTIVATION_CODES[act], out);
            want[i] = out[0];
          }
          // GELU's negative tail amplifies the rounding of x / sqrt(2) and x^3 (relative condition
          // number ~ x^2), so the relative bound grows with x^2 there. The exact form is evaluated as
          // PyTorch writes it, x/2 (1 + erf(x / sqrt 2)), with an erf good to ~3e-7 absolute (PyTorch's
          // own vectorised erf: ~1.5e-7), so its error is bounded by |x| times that, not relative to
          // the tiny values of the far negative tail.
          const scale = want.map((v, i) => Math.abs(v) * (act.startsWith("gelu") ? 1 + x[i] * x[i] : 1) + (act === "gelu" ? Math.abs(x[i]) : 0));
          assertClose(`${isa} ${act}`, got, want, { rel: 3e-7, abs: 1e-9, scale });
        }
      });

      it("packs f16 and bf16 weights exactly as their float32 conversion, special values included", () => {
        const rand = rng(11);
        // odd sizes hit the partial last panel; the first bit patterns cover ±0, subnormals, ±inf and NaN
        const [m, n, k] = [7, 53, 37];
        const specials = [0x0000, 0x8000, 0x0001, 0x83ff, 0x0400, 0x7bff, 0xfbff, 0x3c00, 0x7c00, 0xfc00, 0x7e01];
        const bits = Uint16Array.from({ length: n * k }, (_, i) => (i < specials.length ? specials[i] : Math.floor(rand() * 65536)));
        const x = randomArray(m * k, rand);
        const b = randomArray(n, rand);
        for (const format of ["f16", "bf16"] as const) {
          const half = { format, bits };
          // weightsToFloat32 converts with the JS table the checkpoint loader tests check against numpy
          const fromFloat = nb.linear(x, m, nb.prepareLinear(weightsToFloat32(half), b, n, k));
          const fromHalf = nb.linear(x, m, nb.prepareLinear(half, b, n, k));
          assert.deepEqual(
            new Uint32Array(fromHalf.buffer),
            new Uint32Array(fromFloat.buffer),
            `${isa} ${format}: packing from half bits gives the same outputs bit for bit`,
          );
        }
      });

      it("copies its weight: the caller may reuse the buffer", () => {
        const rand = rng(12);
        const [m, n, k] = [5, 40, 30];
        const w = randomArray(n * k, rand);
        const x = randomArray(m * k, rand);
        const want = nb.linear(x, m, nb.prepareLinear(w.slice(), null, n, k));
        const p = nb.prepareLinear(w, null, n, k);
        w.fill(0);
        assert.deepEqual(nb.linear(x, m, p), want);
      });

      it("rejects inputs of the wrong size and released weights", () => {
        const p = nb.prepareLinear(new Float32Array(6), null, 2, 3);
        assert.throws(() => nb.linear(new Float32Array(5), 2, p), /Expected 6 values/);
        assert.throws(() => nb.prepareLinear(new Float32Array(5), null, 2, 3), /Expected 6 values/);
        const other = new NativeBackend(addon(), isa);
        const q = other.prepareLinear(new Float32Array(6), null, 2, 3);
        other.dispose();
        assert.throws(() => other.linear(new Float32Array(6), 2, q), /already released/);
        assert.deepEqual(Array.from(nb.linear(Float32Array.of(1, 2, 3), 1, p)), [0, 0]);
      });
    });
  }
});
