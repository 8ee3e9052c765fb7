/**
 * firstRowAttention (pooling "cls_attention" reads only the first query row of the last layer):
 * the reference against the full attention matrices and a hand-computed position bias; the native
 * kernels (every kernel set this CPU has) and the naive C++ kernel against the reference.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import type { PositionBias } from "../../src/backend/backend.js";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { NativeBackend } from "../../src/backend/native.js";
import { addon, assertClose, isas, randomArray, rng, skipNative } from "./native-helpers.js";

const ref = new ReferenceBackend();
const LENGTHS = [1, 2, 3, 15, 16, 17, 31, 33, 64, 65, 127, 128, 129, 7, 1, 48];
const SHAPES: [number, number][] = [[2, 16], [3, 32], [12, 32], [4, 8], [1, 20], [2, 5]];

function starts(lengths: number[]): Int32Array {
  const s = new Int32Array(lengths.length + 1);
  for (let i = 0; i < lengths.length; i++) s[i + 1] = s[i] + lengths[i];
  return s;
}

/** MPNet-like: distance d in -maxDistance..maxDistance → bucket (d + maxDistance) % numBuckets. */
function randomBias(heads: number, maxDistance: number, rand: () => number): PositionBias {
  const numBuckets = 32;
  return {
    table: randomArray(numBuckets * heads, rand, 3),
    numBuckets,
    bucketOfDistance: Int32Array.from({ length: 2 * maxDistance + 1 }, (_, i) => i % numBuckets),
    maxDistance,
  };
}

describe("reference firstRowAttention", () => {
  it("equals row 0 of every head's full attention matrix", () => {
    const rand = rng(31);
    for (const [heads, d] of SHAPES) {
      const s = starts(LENGTHS);
      const qkv = randomArray(s[s.length - 1] * 3 * heads * d, rand, 2);
      const full = ref.attention(qkv, s, heads, d, 1 / Math.sqrt(d), true).probs!;
      const got = ref.firstRowAttention(qkv, s, heads, d, 1 / Math.sqrt(d));
      LENGTHS.forEach((len, i) => {
        for (let h = 0; h < heads; h++) {
          const want = full[i].subarray(h * len * len, h * len * len + len);
          const o = heads * s[i] + h * len;
          assertClose(`${heads}x${d} seq ${i} head ${h}`, got.subarray(o, o + len), want, { rel: 1e-6, abs: 1e-7 });
        }
      });
    }
  });

  it("adds the position bias: with zero queries the weights are the softmax of the bias row", () => {
    const heads = 3, d = 4, len = 6;
    const bias = randomBias(heads, 8, rng(32));
    const got = ref.firstRowAttention(new Float32Array(len * 3 * heads * d), starts([len]), heads, d, 0.5, bias);
    for (let h = 0; h < heads; h++) {
      // The first query (i = 0) sees key j at distance j.
      const logits = Array.from({ length: len }, (_, j) => bias.table[bias.bucketOfDistance[j + bias.maxDistance] * heads + h]);
      const z = logits.reduce((a, x) => a + Math.exp(x), 0);
      assertClose(`head ${h}`, got.subarray(h * len, (h + 1) * len), Float32Array.from(logits, (x) => Math.exp(x) / z), { rel: 1e-6, abs: 1e-7 });
    }
  });

  it("refuses a bias that does not cover the sequence or the heads", () => {
    const qkv = new Float32Array(10 * 3 * 2 * 4);
    const bias = randomBias(2, 5, rng(33));
    assert.throws(() => ref.firstRowAttention(qkv, starts([10]), 2, 4, 1, bias), /exceeds the position bias' maxDistance 5/);
    assert.throws(() => ref.firstRowAttention(qkv, starts([10]), 2, 4, 1, { ...randomBias(3, 20, rng(34)) }), /position bias table of 32x2/);
    assert.throws(() => ref.firstRowAttention(qkv.subarray(1), starts([10]), 2, 4, 1), /expected 10x24 qkv values/);
  });
});

describe("native firstRowAttention", { skip: skipNative }, () => {
  for (const isa of isas()) {
    it(`${isa}: matches the reference for lengths 1..129 and head dims 5..32, with and without a position bias`, () => {
      const nb = new NativeBackend(addon(), isa);
      const rand = rng(35);
      for (const [heads, d] of SHAPES) {
        const s = starts(LENGTHS);
        const qkv = randomArray(s[s.length - 1] * 3 * heads * d, rand, 2);
        for (const bias of [undefined, randomBias(heads, 130, rand)]) {
          const got = nb.firstRowAttention(qkv, s, heads, d, 1 / Math.sqrt(d), bias);
          const want = ref.firstRowAttention(qkv, s, heads, d, 1 / Math.sqrt(d), bias);
          assertClose(`${isa} ${heads}x${d} bias=${bias !== undefined}`, got, want, { rel: 1e-5, abs: 1e-7 });
        }
      }
    });
  }

  it("the naive C++ kernel matches the reference, and bad bias indices are refused", () => {
    const rand = rng(36);
    const [heads, d] = [3, 32];
    const s = starts(LENGTHS);
    const qkv = randomArray(s[s.length - 1] * 3 * heads * d, rand, 2);
    const bias = randomBias(heads, 129, rand);
    const got = new Float32Array(heads * s[s.length - 1]);
    addon().naiveFirstRowAttention(qkv, s, heads, d, 0.25, got, bias.table, bias.bucketOfDistance, bias.maxDistance);
    assertClose("naive", got, ref.firstRowAttention(qkv, s, heads, d, 0.25, bias), { rel: 1e-6, abs: 1e-7 });
    const bad = Int32Array.from(bias.bucketOfDistance, (b, i) => (i === 140 ? 99 : b));
    assert.throws(() => addon().naiveFirstRowAttention(qkv, s, heads, d, 0.25, got, bias.table, bad, bias.maxDistance), /within the bias table/);
    assert.throws(() => addon().naiveFirstRowAttention(qkv, s, heads, d, 0.25, got, bias.table, bias.bucketOfDistance.subarray(0, 101), 50), /longer than the position bias/);
  });
});
