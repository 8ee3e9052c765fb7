/**
 * NaN and ±Inf go through every activation, LayerNorm and the attention softmax of every native
 * kernel set exactly as through the reference backend (which follows PyTorch's formulas): a NaN
 * stays NaN, never a finite-looking 1 or 0.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { Activation } from "../../src/backend/backend.js";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { NativeBackend } from "../../src/backend/native.js";
import { addon, isas, skipNative } from "./native-helpers.js";

const ref = new ReferenceBackend();

/** Special values among ordinary ones, spread so some land in full vectors and some in the tail. */
const SPECIALS = [NaN, Infinity, -Infinity, 0, -0, 1, -1, 0.3, -0.3, 0.6, -0.6, 5, -5, 9.9, -9.9, 20, -20, 50, -50, 1e-30, 3e38, -3e38, 88, -88, 100, -100];

/** Same class (NaN / +Inf / -Inf) everywhere, finite values within tolerance. */
function assertSameNonFinite(what: string, got: Float32Array, want: Float32Array, input: Float32Array): void {
  assert.equal(got.length, want.length);
  for (let i = 0; i < got.length; i++) {
    const [g, w] = [got[i], want[i]];
    const where = `${what}: input ${input[i % input.length]} at ${i}`;
    if (Number.isNaN(w) || !Number.isFinite(w)) {
      assert.ok(Object.is(g, w) || (Number.isNaN(g) && Number.isNaN(w)), `${where} gave ${g}, the reference ${w}`);
    } else {
      assert.ok(Math.abs(g - w) <= 1e-5 * Math.abs(w) + 1e-6, `${where} gave ${g}, the reference ${w}`);
    }
  }
}

/** x = 0, weight = 1 (one input feature), bias = the values: y = act(bias), through the GEMM epilogue the model uses. */
function activationThroughLinear(backend: NativeBackend | ReferenceBackend, values: Float32Array, act: Activation): Float32Array {
  const params = backend.prepareLinear(new Float32Array(values.length).fill(1), values, values.length, 1);
  return backend.linear(new Float32Array(3), 3, params, act);
}

describe("non-finite values", { skip: skipNative }, () => {
  const values = Float32Array.from(SPECIALS);
  const activations: Activation[] = ["gelu", "gelu_new", "gelu_pytorch_tanh", "relu", "tanh"];
  for (const isa of isas()) {
    const nb = new NativeBackend(addon(), isa);
    it(`${isa}: every activation propagates NaN/±Inf like the reference`, () => {
      for (const act of activations) {
        assertSameNonFinite(`${isa} ${act}`, activationThroughLinear(nb, values, act), activationThroughLinear(ref, values, act), values);
      }
    });

    it(`${isa}: LayerNorm rows with NaN or ±Inf become NaN; a NaN gamma or beta spoils its column only`, () => {
      const cols = 37;
      const rows = [NaN, Infinity, -Infinity, 2].map((special, r) => Array.from({ length: cols }, (_, c) => (c === (r * 11) % cols ? special : Math.sin(c + r))));
      const x = Float32Array.from(rows.flat());
      const gamma = Float32Array.from({ length: cols }, (_, c) => (c === 5 ? NaN : 1 + c / 100));
      const beta = Float32Array.from({ length: cols }, (_, c) => (c === 20 ? Infinity : c / 50));
      for (const residual of [null, new Float32Array(x.length).fill(0.5)]) {
        const got = nb.addLayerNorm(x, residual, rows.length, cols, gamma, beta, 1e-12);
        const want = ref.addLayerNorm(x, residual, rows.length, cols, gamma, beta, 1e-12);
        assertSameNonFinite(`${isa} layernorm`, got, want, x);
      }
    });

    it(`${isa}: attention with a NaN or infinite score gives what the reference softmax gives`, () => {
      const [heads, d] = [2, 16];
      const hidden = heads * d;
      // 7 and 12 tokens: the whole-row kernel; 530: the flash one.
      for (const [special, len, first] of [NaN, Infinity, -Infinity].flatMap((v) => [[v, 19, 7], [v, 537, 7]])) {
        const qkv = Float32Array.from({ length: len * 3 * hidden }, (_, i) => Math.sin(i) * 0.5);
        qkv[(first + 5) * 3 * hidden + hidden + 3] = special; // one key element of the second sequence's row 5, head 0
        qkv[5 * 3 * hidden + hidden + 3] = special; // and of the first's
        const seqStarts = Int32Array.from([0, first, len]);
        const got = nb.attention(qkv, seqStarts, heads, d, 0.25, true);
        const want = ref.attention(qkv, seqStarts, heads, d, 0.25, true);
        assertSameNonFinite(`${isa} attention context (${special})`, got.context, want.context, qkv);
      }
    });
  }
});
