/**
 * The wasm backend's kernels (native/src compiled to wasm32 + SIMD128) against the TypeScript
 * reference backend: linear on shapes that hit every edge of the tiled GEMM (partial 4x8 micro-tiles,
 * K around the 256 K-block, M around the 64-row block), fused activations, f16/bf16 packing,
 * residual + LayerNorm, attention with probabilities and with a position bias, first-row attention;
 * NaN/±Inf propagation; row independence of the GEMM; and the linear memory management (growth past
 * the initial 16 MiB, reuse of the copy area, dispose).
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { weightsToFloat32, type Activation, type PositionBias } from "../../src/backend/backend.js";
import type { WasmBackend } from "../../src/backend/wasm.js";
import { abs, assertBitEqual, assertClose, randomArray, rng } from "./native-helpers.js";
import { skipWasm, wasmBackend } from "./wasm-helpers.js";

const ref = new ReferenceBackend();
const ACTIVATIONS: Activation[] = ["none", "gelu", "gelu_new", "gelu_pytorch_tanh", "relu", "tanh"];

function starts(lengths: number[]): Int32Array {
  const s = new Int32Array(lengths.length + 1);
  for (let i = 0; i < lengths.length; i++) s[i + 1] = s[i] + lengths[i];
  return s;
}

/**
 * Float32 accumulation of K products (no FMA in SIMD128): error a small multiple of K * 2^-24 times
 * sum |x w| at worst. 1e-5 of that sum plus 1e-6 leaves room and still catches any wrong element.
 */
function checkLinear(wb: WasmBackend, m: number, n: number, k: number, act: Activation, seed: number, withBias = true) {
  const rand = rng(seed);
  const x = randomArray(m * k, rand);
  const w = randomArray(n * k, rand);
  const b = withBias ? randomArray(n, rand) : null;
  const got = wb.linear(x, m, wb.prepareLinear(w, b, n, k), act);
  const want = ref.linear(x, m, ref.prepareLinear(w, b, n, k), act);
  const scale = ref.linear(abs(x), m, ref.prepareLinear(abs(w), b && abs(b), n, k));
  for (let i = 0; i < scale.length; i++) scale[i] += Math.abs(want[i]);
  assertClose(`wasm linear ${m}x${k} . (${n}x${k})^T ${act}`, got, want, { rel: 1e-5, abs: 1e-6, scale });
}

describe("wasm linear", { skip: skipWasm }, () => {
  const wb = skipWasm ? (undefined as unknown as WasmBackend) : wasmBackend();

  it("names itself and its GEMM tile", () => {
    assert.match(wb.name, /^wasm simd128 x1 thread/);
    assert.match(wb.tiles, /^\d+x\d+ kc=\d+ mc=\d+$/);
  });

  it("matches the reference on every combination of small odd sizes", () => {
    let seed = 1;
    for (const m of [1, 2, 3, 4, 5, 7, 9])
      for (const n of [1, 3, 4, 5, 8, 9, 13, 17])
        for (const k of [1, 2, 5, 8, 13]) checkLinear(wb, m, n, k, "none", seed++, seed % 2 === 0);
  });

  it("matches across the K-block and row-block boundaries", () => {
    let seed = 100;
    for (const [m, n, k] of [
      [3, 19, 255],
      [5, 8, 256],
      [6, 24, 257],
      [2, 7, 513],
      [63, 9, 31],
      [64, 16, 40],
      [65, 17, 33],
      [130, 33, 300],
    ]) checkLinear(wb, m, n, k, "none", seed++);
  });

  it("fuses every activation into the epilogue", () => {
    let seed = 200;
    for (const act of ACTIVATIONS) checkLinear(wb, 11, 21, 40, act, seed++);
  });

  it("matches the reference on a BERT-sized layer", () => {
    checkLinear(wb, 37, 384, 384, "gelu", 300);
  });

  it("computes row r alone exactly as within any batch (batch invariance)", () => {
    const rand = rng(301);
    const [n, k] = [45, 300];
    const p = wb.prepareLinear(randomArray(n * k, rand), randomArray(n, rand), n, k);
    const x = randomArray(70 * k, rand);
    const all = wb.linear(x, 70, p, "gelu");
    for (const r of [0, 3, 4, 63, 64, 69]) {
      assertBitEqual(`row ${r} alone`, wb.linear(x.subarray(r * k, (r + 1) * k), 1, p, "gelu"), all.subarray(r * n, (r + 1) * n));
    }
    assertBitEqual("rows 5..12 as a batch of 7", wb.linear(x.subarray(5 * k, 12 * k), 7, p, "gelu"), all.subarray(5 * n, 12 * n));
  });

  it("computes activations like the reference", () => {
    const xs: number[] = [0, -0, 1e-30, -1e-30, 1e-8, -1e-8, 1e-4, -1e-4, 100, -100, 1e6, -1e6, 88, -88, 1e30, -1e30];
    for (let v = -12; v <= 12; v += 1 / 64) xs.push(v);
    const x = Float32Array.from(xs);
    for (const act of ACTIVATIONS) {
      const got = x.slice();
      wb.activate(got, act);
      const want = ref.linear(x, x.length, ref.prepareLinear(Float32Array.of(1), null, 1, 1), act);
      // The reference's erf is good to 1.2e-7 absolute; GELU's negative tail amplifies rounding by ~x^2.
      const scale = want.map((v, i) => Math.abs(v) * (act.startsWith("gelu") ? 1 + x[i] * x[i] : 1) + (act.startsWith("gelu") ? Math.abs(x[i]) : 0));
      assertClose(`wasm ${act}`, got, want, { rel: 1e-6, abs: 1e-9, scale });
    }
  });

  it("packs f16 and bf16 weights exactly as their float32 conversion, special values included", () => {
    const rand = rng(11);
    const [m, n, k] = [7, 53, 37];
    const specials = [0x0000, 0x8000, 0x0001, 0x83ff, 0x0400, 0x7bff, 0xfbff, 0x3c00, 0x7c00, 0xfc00, 0x7e01];
    const bits = Uint16Array.from({ length: n * k }, (_, i) => (i < specials.length ? specials[i] : Math.floor(rand() * 65536)));
    const x = randomArray(m * k, rand);
    const b = randomArray(n, rand);
    for (const format of ["f16", "bf16"] as const) {
      const half = { format, bits };
      const fromFloat = wb.linear(x, m, wb.prepareLinear(weightsToFloat32(half), b, n, k));
      const fromHalf = wb.linear(x, m, wb.prepareLinear(half, b, n, k));
      assertBitEqual(`${format}: packing from half bits`, fromHalf, fromFloat);
    }
  });

  it("copies its weight, and rejects wrong sizes, foreign params and disposed weights", () => {
    const own = wasmBackend();
    const rand = rng(12);
    const [m, n, k] = [5, 40, 30];
    const w = randomArray(n * k, rand);
    const x = randomArray(m * k, rand);
    const want = own.linear(x, m, own.prepareLinear(w.slice(), null, n, k));
    const p = own.prepareLinear(w, null, n, k);
    w.fill(0);
    assert.deepEqual(own.linear(x, m, p), want);
    assert.throws(() => own.linear(new Float32Array(7), 2, p), /Expected 60 values/);
    assert.throws(() => wb.linear(x, m, p), /prepared by this wasm backend/);
    assert.throws(() => own.linear(x, m, ref.prepareLinear(w, null, n, k)), /prepared by this wasm backend/);
    assert.throws(() => own.prepareLinear(new Float32Array(5), null, 2, 3), /Expected 6 values/);
    own.dispose();
    assert.throws(() => own.linear(x, m, p), /freed by dispose/);
  });

  it("grows linear memory for large weights and reuses its copy area across calls", () => {
    const own = wasmBackend();
    const before = own.memoryBytes;
    const [n, k] = [2048, 3072]; // 24 MiB of weights: past the initial 16 MiB
    const rand = rng(13);
    const w = randomArray(n * k, rand, 0.05);
    const p = own.prepareLinear(w, null, n, k);
    assert.ok(own.memoryBytes > before, `memory grew from ${before}`);
    const x = randomArray(8 * k, rand);
    const y = own.linear(x, 8, p);
    const after = own.memoryBytes;
    for (let i = 0; i < 5; i++) assertBitEqual(`call ${i}`, own.linear(x, 8, p, "none", new Float32Array(8 * n)), y);
    assert.equal(own.memoryBytes, after, "repeated calls of one size allocate nothing new");
    // Still the right answer after the memory (and so every view of it) moved: a few elements by hand.
    for (const [row, col] of [[0, 0], [3, 1000], [7, 2047]]) {
      let dot = 0;
      for (let i = 0; i < k; i++) dot += x[row * k + i] * w[col * k + i];
      assert.ok(Math.abs(y[row * n + col] - dot) < 1e-4, `y[${row}, ${col}] = ${y[row * n + col]}, expected ${dot}`);
    }
    own.dispose();
  });
});

describe("wasm addLayerNorm", { skip: skipWasm }, () => {
  it("matches the reference with and without a residual", () => {
    const wb = wasmBackend();
    const rand = rng(11);
    for (const cols of [1, 3, 15, 16, 17, 33, 100, 384, 768]) {
      for (const rows of [1, 5, 70]) {
        const x = randomArray(rows * cols, rand, 3).map((v, i) => (i % 97 === 5 ? v * 40 : v) + 2);
        const res = randomArray(rows * cols, rand);
        const gamma = randomArray(cols, rand);
        const beta = randomArray(cols, rand);
        for (const r of [null, res]) {
          const got = wb.addLayerNorm(x, r, rows, cols, gamma, beta, 1e-12);
          const want = ref.addLayerNorm(x, r, rows, cols, gamma, beta, 1e-12);
          assertClose(`wasm layernorm ${rows}x${cols} residual=${r !== null}`, got, want, { rel: 1e-5, abs: 1e-5 });
        }
      }
    }
  });
});

function randomBias(heads: number, numBuckets: number, maxDistance: number, rand: () => number): PositionBias {
  const bucketOfDistance = new Int32Array(2 * maxDistance + 1).map(() => Math.floor(rand() * numBuckets));
  return { table: randomArray(numBuckets * heads, rand, 2), numBuckets, bucketOfDistance, maxDistance };
}

describe("wasm attention", { skip: skipWasm }, () => {
  it("matches the reference for many lengths and head dims, with probabilities and with a position bias", () => {
    const wb = wasmBackend();
    const rand = rng(21);
    const lengths = [1, 2, 3, 4, 5, 17, 33, 70, 129, 0, 8];
    for (const [heads, d] of [[2, 16], [3, 32], [1, 5], [4, 13], [12, 64]] as [number, number][]) {
      const s = starts(lengths);
      const rows = s[s.length - 1];
      const qkv = randomArray(rows * 3 * heads * d, rand, 2);
      const scale = 1 / Math.sqrt(d);
      for (const bias of [undefined, randomBias(heads, 32, 130, rand)]) {
        const label = `wasm attention ${heads}x${d} bias=${bias !== undefined}`;
        const got = wb.attention(qkv, s, heads, d, scale, true, undefined, bias);
        const want = ref.attention(qkv, s, heads, d, scale, true, undefined, bias);
        assertClose(`${label} context`, got.context, want.context, { rel: 1e-5, abs: 1e-5 });
        for (let i = 0; i < lengths.length; i++) assertClose(`${label} probs seq ${i}`, got.probs![i], want.probs![i], { rel: 1e-5, abs: 1e-7 });
        assertBitEqual(`${label} without probs`, wb.attention(qkv, s, heads, d, scale, false, undefined, bias).context, got.context);
        const first = wb.firstRowAttention(qkv, s, heads, d, scale, bias);
        assertClose(`${label} first row`, first, ref.firstRowAttention(qkv, s, heads, d, scale, bias), { rel: 1e-5, abs: 1e-7 });
      }
    }
  });

  it("rejects bad seqStarts and a bias that does not cover the sequence", () => {
    const wb = wasmBackend();
    const rand = rng(22);
    const qkv = randomArray(5 * 3 * 8, rand);
    assert.throws(() => wb.attention(qkv, Int32Array.of(0, 3, 2, 5), 1, 8, 0.5), /non-decreasing/);
    assert.throws(() => wb.firstRowAttention(qkv, Int32Array.of(-1, 5), 1, 8, 0.5), /row >= 0/);
    assert.throws(() => wb.attention(qkv, starts([5]), 1, 8, 0.5, false, undefined, randomBias(1, 4, 3, rand)), /5 tokens.*distances up to 3/);
  });
});

/** Same class (NaN / +Inf / -Inf) everywhere, finite values within tolerance. */
function assertSameNonFinite(what: string, got: Float32Array, want: Float32Array): void {
  assert.equal(got.length, want.length);
  for (let i = 0; i < got.length; i++) {
    const [g, w] = [got[i], want[i]];
    if (!Number.isFinite(w)) assert.ok(Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w)), `${what} at ${i} gave ${g}, the reference ${w}`);
    else assert.ok(Math.abs(g - w) <= 1e-5 * Math.abs(w) + 1e-6, `${what} at ${i} gave ${g}, the reference ${w}`);
  }
}

describe("wasm non-finite values", { skip: skipWasm }, () => {
  const SPECIALS = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 0.3, -0.3, 0.6, -0.6, 5, -5, 9.9, -9.9, 20, -20, 50, -50, 1e-30, 3e38, -3e38, 88, -88, 100, -100];
  const values = Float32Array.from(SPECIALS);

  it("every activation propagates NaN/±Inf like the reference (through the GEMM epilogue)", () => {
    const wb = wasmBackend();
    for (const act of ["gelu", "gelu_new", "gelu_pytorch_tanh", "relu", "tanh"] as Activation[]) {
      // x = 0, weight = 1: y = act(bias)
      const run = (b: WasmBackend | ReferenceBackend) => b.linear(new Float32Array(3), 3, b.prepareLinear(new Float32Array(values.length).fill(1), values, values.length, 1), act);
      assertSameNonFinite(`wasm ${act}`, run(wb), run(ref));
    }
  });

  it("LayerNorm rows with NaN or ±Inf become NaN; a NaN gamma or beta spoils its column only", () => {
    const wb = wasmBackend();
    const cols = 37;
    const rows = [NaN, Infinity, -Infinity, 2].map((special, r) => Array.from({ length: cols }, (_, c) => (c === (r * 11) % cols ? special : Math.sin(c + r))));
    const x = Float32Array.from(rows.flat());
    const gamma = Float32Array.from({ length: cols }, (_, c) => (c === 5 ? NaN : 1 + c / 100));
    const beta = Float32Array.from({ length: cols }, (_, c) => (c === 20 ? Infinity : c / 50));
    for (const residual of [null, new Float32Array(x.length).fill(0.5)]) {
      assertSameNonFinite("wasm layernorm", wb.addLayerNorm(x, residual, rows.length, cols, gamma, beta, 1e-12), ref.addLayerNorm(x, residual, rows.length, cols, gamma, beta, 1e-12));
    }
  });

  it("attention with a NaN or infinite score gives what the reference softmax gives", () => {
    const wb = wasmBackend();
    const [heads, d, len] = [2, 16, 19];
    const hidden = heads * d;
    for (const special of [NaN, Infinity, -Infinity]) {
      const qkv = Float32Array.from({ length: len * 3 * hidden }, (_, i) => Math.sin(i) * 0.5);
      qkv[5 * 3 * hidden + hidden + 3] = special;
      const seqStarts = Int32Array.from([0, 7, len]);
      assertSameNonFinite(`wasm attention (${special})`, wb.attention(qkv, seqStarts, heads, d, 0.25).context, ref.attention(qkv, seqStarts, heads, d, 0.25).context);
      assertSameNonFinite(`wasm first row (${special})`, wb.firstRowAttention(qkv, seqStarts, heads, d, 0.25), ref.firstRowAttention(qkv, seqStarts, heads, d, 0.25));
    }
  });
});
