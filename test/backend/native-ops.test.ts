/**
 * Residual + LayerNorm and packed attention of the native backend (every kernel set this CPU has)
 * against the TypeScript reference backend and the naive C++ kernels.
 */
import { describe, it } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { NativeBackend } from "../../src/backend/native.js";
import { positionBiasByDistance, type EmbeddingTables, type PositionBias } from "../../src/backend/backend.js";
import { gatherEmbeddingLayerNorm } from "../../src/backend/embedding-gather.js";
import { TOKEN_POOLINGS } from "../../src/pooling/strategies.js";
import { addon, assertBitEqual, assertClose, isas, randomArray, rng, skipNative } from "./native-helpers.js";

const ref = new ReferenceBackend();

function starts(lengths: number[]): Int32Array {
  const s = new Int32Array(lengths.length + 1);
  for (let i = 0; i < lengths.length; i++) s[i + 1] = s[i] + lengths[i];
  return s;
}

describe("native addLayerNorm", { skip: skipNative }, () => {
  for (const isa of isas()) {
    it(`${isa}: matches the reference with and without a residual`, () => {
      const nb = new NativeBackend(addon(), isa);
      const rand = rng(11);
      for (const cols of [1, 3, 15, 16, 17, 33, 100, 384, 768, 1000]) {
        for (const rows of [1, 5, 70]) {
          // An offset and a few large values, like real hidden states, test the two-pass variance.
          const x = randomArray(rows * cols, rand, 3).map((v, i) => (i % 97 === 5 ? v * 40 : v) + 2);
          const res = randomArray(rows * cols, rand);
          const gamma = randomArray(cols, rand);
          const beta = randomArray(cols, rand);
          for (const r of [null, res]) {
            const got = nb.addLayerNorm(x, r, rows, cols, gamma, beta, 1e-12);
            const want = ref.addLayerNorm(x, r, rows, cols, gamma, beta, 1e-12);
            assertClose(`${isa} layernorm ${rows}x${cols} residual=${r !== null}`, got, want, { rel: 1e-5, abs: 1e-5 });
          }
        }
      }
    });
  }

  it("matches the naive C++ kernel, eps included", () => {
    const rand = rng(12);
    const [rows, cols] = [9, 257];
    const x = randomArray(rows * cols, rand, 1e-3);
    const gamma = randomArray(cols, rand);
    const beta = randomArray(cols, rand);
    const want = new Float32Array(rows * cols);
    addon().naiveAddLayerNorm(x, null, rows, cols, gamma, beta, 1e-5, want);
    for (const isa of isas()) {
      const got = new NativeBackend(addon(), isa).addLayerNorm(x, null, rows, cols, gamma, beta, 1e-5);
      assertClose(`${isa} layernorm eps`, got, want, { rel: 1e-5, abs: 1e-5 });
    }
  });
});

describe("native embeddingLayerNorm", { skip: skipNative }, () => {
  const rand = rng(21);
  const [vocab, types, maxPos, width, rows] = [50, 3, 40, 37, 600];
  const wordsF32 = randomArray(vocab * width, rand);
  // f16 / bf16 bits, specials included (±0, subnormal, the largest f16): converted exactly either way.
  const bits = Uint16Array.from({ length: vocab * width }, (_, i) => [0x0000, 0x8000, 0x0001, 0x7bff][i] ?? Math.floor(rand() * 0x7800) | (i % 2 ? 0x8000 : 0));
  const base = {
    tokenTypes: randomArray(types * width, rand),
    positions: randomArray(maxPos * width, rand),
    gamma: randomArray(width, rand),
    beta: randomArray(width, rand),
    eps: 1e-12,
    width,
  };
  const ids = Int32Array.from({ length: rows }, () => Math.floor(rand() * vocab));
  const typeIds = Int32Array.from({ length: rows }, () => Math.floor(rand() * types));
  const positionIds = Int32Array.from({ length: rows }, (_, r) => r % maxPos);
  const variants: [string, EmbeddingTables][] = [];
  // bf16: the float32 table's upper halves (random bf16 bits would hold values near 1e38).
  const bf16Bits = Uint16Array.from(new Uint32Array(wordsF32.buffer), (u) => u >>> 16);
  for (const [name, words] of [["f32", wordsF32], ["f16", { format: "f16", bits }], ["bf16", { format: "bf16", bits: bf16Bits }]] as const) {
    variants.push([`${name} words`, { ...base, words }]);
    variants.push([`${name} words, no token types`, { ...base, words, tokenTypes: undefined }]);
  }
  for (const isa of isas()) {
    it(`${isa}: bit-identical to gathering the sums in TypeScript before the same LayerNorm kernel; close to the reference`, () => {
      const nb = new NativeBackend(addon(), isa);
      for (const [what, tables] of variants) {
        const got = nb.embeddingLayerNorm(tables, ids, typeIds, positionIds);
        assertBitEqual(`${isa} ${what}`, got, gatherEmbeddingLayerNorm(nb, tables, ids, typeIds, positionIds));
        assertClose(`${isa} ${what} vs reference`, got, ref.embeddingLayerNorm(tables, ids, typeIds, positionIds), { rel: 1e-5, abs: 1e-5 });
        // A row alone gives the same bits as in the batch.
        const r = 123;
        const one = nb.embeddingLayerNorm(tables, ids.subarray(r, r + 1), typeIds.subarray(r, r + 1), positionIds.subarray(r, r + 1));
        assertBitEqual(`${isa} ${what} row ${r} alone`, one, got.subarray(r * width, (r + 1) * width));
      }
    });
  }

  it("rejects ids outside their tables, in the backend and in the addon itself", () => {
    const nb = new NativeBackend(addon(), isas()[0]);
    const tables = variants[0][1];
    const bad = (a: Int32Array, at: number, v: number) => Int32Array.from(a, (x, i) => (i === at ? v : x));
    assert.throws(() => nb.embeddingLayerNorm(tables, bad(ids, 7, vocab), typeIds, positionIds), /Token id 50 is outside the vocabulary/);
    assert.throws(() => nb.embeddingLayerNorm(tables, ids, bad(typeIds, 3, -1), positionIds), /Token type id -1/);
    assert.throws(() => nb.embeddingLayerNorm(tables, ids, typeIds, bad(positionIds, 0, maxPos)), /position 40 exceeds max_position_embeddings 40/);
    const y = new Float32Array(rows * width);
    const call = (i: Int32Array, t: Int32Array, p: Int32Array) =>
      addon().embeddingLayerNorm(addon().isaIndex(nb.isa), wordsF32, 0, base.tokenTypes, base.positions, i, t, p, width, base.gamma, base.beta, 1e-12, y);
    assert.throws(() => call(bad(ids, 599, vocab), typeIds, positionIds), RangeError);
    assert.throws(() => call(ids, bad(typeIds, 0, types), positionIds), RangeError);
    assert.throws(() => call(ids, typeIds, bad(positionIds, 1, -5)), RangeError);
    assert.throws(() => call(ids, typeIds, positionIds.subarray(1)), RangeError);
  });
});

describe("meanPool", () => {
  const rand = rng(31);
  const width = 45;
  const lengths = [1, 7, 0, 38, 130, 2];
  const seqStarts = starts(lengths);
  const x = randomArray(seqStarts[lengths.length] * width, rand, 3);
  // The pooling layer's own mean, text by text: what the backends must reproduce bit for bit.
  const want = new Float32Array(lengths.length * width);
  lengths.forEach((len, s) => want.set(TOKEN_POOLINGS.mean(x.subarray(seqStarts[s] * width, seqStarts[s + 1] * width), len, width), s * width));
  const backends = [ref, ...(skipNative ? [] : isas().map((isa) => new NativeBackend(addon(), isa)))];
  for (const b of backends) {
    it(`${b.name}: equals the pooling layer's mean of each sequence bit for bit (an empty one gives NaN)`, () => {
      assertBitEqual(b.name, b.meanPool(x, seqStarts, width), want);
      assert.ok(Number.isNaN(want[2 * width]));
      assert.throws(() => b.meanPool(x.subarray(1), seqStarts, width), RangeError);
    });
  }
});

describe("native attention", { skip: skipNative }, () => {
  const shapes: [number, number][] = [
    [2, 16],
    [3, 32],
    [2, 64],
    [4, 8],
    [1, 20],
  ];
  for (const isa of isas()) {
    it(`${isa}: many sequences of lengths 1..130, head dims 8..64, with probabilities`, () => {
      const nb = new NativeBackend(addon(), isa);
      const rand = rng(21);
      // Up to 512 tokens the whole-row kernel, beyond it the flash one (513, 600).
      const lengths = [1, 2, 3, 15, 16, 17, 31, 33, 38, 64, 65, 127, 128, 129, 130, 7, 1, 48, 49, 513, 600];
      for (const [heads, d] of shapes) {
        const hidden = heads * d;
        const s = starts(lengths);
        const rows = s[s.length - 1];
        const qkv = randomArray(rows * 3 * hidden, rand, 2);
        const scale = 1 / Math.sqrt(d);
        const got = nb.attention(qkv, s, heads, d, scale, true);
        const want = ref.attention(qkv, s, heads, d, scale, true);
        assertClose(`${isa} context ${heads}x${d}`, got.context, want.context, { rel: 1e-5, abs: 1e-5 });
        assert.equal(got.probs?.length, lengths.length);
        for (let i = 0; i < lengths.length; i++) {
          assertClose(`${isa} probs ${heads}x${d} seq ${i}`, got.probs![i], want.probs![i], { rel: 1e-5, abs: 1e-7 });
        }
        const noProbs = nb.attention(qkv, s, heads, d, scale);
        assert.equal(noProbs.probs, undefined);
        assertBitEqual(`${isa} context without probs`, noProbs.context, got.context);
      }
    });
  }

  it("matches the naive C++ kernel on a BERT-base layer (12 heads of 64, two sequences)", () => {
    const rand = rng(22);
    const [heads, d] = [12, 64];
    const s = starts([128, 77]);
    const rows = s[s.length - 1];
    const qkv = randomArray(rows * 3 * heads * d, rand);
    const ctx = new Float32Array(rows * heads * d);
    const probs = new Float32Array(heads * (128 * 128 + 77 * 77));
    addon().naiveAttention(qkv, s, heads, d, 0.125, ctx, probs);
    for (const isa of isas()) {
      const got = new NativeBackend(addon(), isa).attention(qkv, s, heads, d, 0.125, true);
      assertClose(`${isa} context`, got.context, ctx, { rel: 1e-5, abs: 1e-6 });
      assertClose(`${isa} probs`, got.probs![0], probs.subarray(0, heads * 128 * 128), { rel: 1e-5, abs: 1e-8 });
    }
  });

  it("handles empty sequences and rejects bad seqStarts", () => {
    const nb = new NativeBackend(addon());
    const qkv = randomArray(3 * 3 * 8, rng(23));
    const got = nb.attention(qkv, Int32Array.of(0, 0, 3, 3), 1, 8, 0.5, true);
    assert.deepEqual(
      got.probs!.map((p) => p.length),
      [0, 9, 0],
    );
    assert.throws(() => nb.attention(qkv, Int32Array.of(0, 2, 1), 1, 8, 0.5), /Expected|non-decreasing/);
  });
});

describe("attention with a position bias (MPNet's relative_attention_bias)", () => {
  /** Random buckets and table over distances -maxDistance..maxDistance. */
  function randomBias(heads: number, numBuckets: number, maxDistance: number, rand: () => number): PositionBias {
    const bucketOfDistance = new Int32Array(2 * maxDistance + 1).map(() => Math.floor(rand() * numBuckets));
    return { table: randomArray(numBuckets * heads, rand, 2), numBuckets, bucketOfDistance, maxDistance };
  }

  it("reference: score(i, j) += table[bucket(j - i)·heads + h] (a large bias on j = i + 1 copies the next token's value)", () => {
    const [heads, d, len, maxDistance] = [2, 4, 5, 8];
    const bucketOfDistance = new Int32Array(2 * maxDistance + 1).fill(0);
    bucketOfDistance[maxDistance + 1] = 1; // j - i = +1
    const table = Float32Array.of(0, 0, 60, 60); // bucket 0: no bias; bucket 1: +60 for both heads
    const qkv = randomArray(len * 3 * heads * d, rng(31), 0.1);
    const got = ref.attention(qkv, starts([len]), heads, d, 0.5, true, undefined, { table, numBuckets: 2, bucketOfDistance, maxDistance });
    const hidden = heads * d;
    for (let i = 0; i + 1 < len; i++) {
      for (let c = 0; c < hidden; c++) {
        assert.ok(Math.abs(got.context[i * hidden + c] - qkv[(i + 1) * 3 * hidden + 2 * hidden + c]) < 1e-6, `row ${i} col ${c}`);
      }
    }
    // The last token has no j = i + 1: it attends as without bias.
    const plain = ref.attention(qkv, starts([len]), heads, d, 0.5, true);
    assertClose("last row unbiased", got.probs![0].subarray((len - 1) * len, len * len), plain.probs![0].subarray((len - 1) * len, len * len), { rel: 0, abs: 1e-12 });
  });

  for (const isa of skipNative ? [] : isas()) {
    it(`${isa}: matches the reference and the naive C++ kernel`, () => {
      const nb = new NativeBackend(addon(), isa);
      const rand = rng(32);
      const lengths = [1, 2, 17, 33, 130, 5, 129, 520];  // 520: the flash kernel's bias path
      for (const [heads, d] of [[2, 16], [3, 32], [12, 64]]) {
        const bias = randomBias(heads, 32, 520, rand);
        const s = starts(lengths);
        const rows = s[s.length - 1];
        const qkv = randomArray(rows * 3 * heads * d, rand, 2);
        const scale = 1 / Math.sqrt(d);
        const got = nb.attention(qkv, s, heads, d, scale, true, undefined, bias);
        const want = ref.attention(qkv, s, heads, d, scale, true, undefined, bias);
        assertClose(`${isa} biased context ${heads}x${d}`, got.context, want.context, { rel: 1e-5, abs: 1e-5 });
        for (let i = 0; i < lengths.length; i++) assertClose(`${isa} biased probs seq ${i}`, got.probs![i], want.probs![i], { rel: 1e-5, abs: 1e-7 });
        assertBitEqual(`${isa} biased context without probs`, nb.attention(qkv, s, heads, d, scale, false, undefined, bias).context, got.context);
        const naive = new Float32Array(rows * heads * d);
        addon().naiveAttention(qkv, s, heads, d, scale, naive, null, positionBiasByDistance(bias, heads, s), bias.maxDistance);
        assertClose(`${isa} biased context vs naive C++`, got.context, naive, { rel: 1e-5, abs: 1e-5 });
      }
    });
  }

  it("rejects a sequence longer than the bias covers, and mismatched tables", () => {
    const rand = rng(33);
    const bias = randomBias(1, 4, 3, rand);
    const qkv = randomArray(5 * 3 * 8, rand);
    const backends = skipNative ? [ref] : [ref, new NativeBackend(addon())];
    for (const b of backends) {
      assert.throws(() => b.attention(qkv, starts([5]), 1, 8, 0.5, false, undefined, bias), /5 tokens.*distances up to 3/);
      assert.throws(() => b.attention(qkv.subarray(0, 4 * 3 * 8), starts([4]), 2, 4, 0.5, false, undefined, bias), /position bias table of 4x2/);
    }
  });
});

describe("native allocate (scratch on 64-byte lines)", { skip: skipNative }, () => {
  it("floatsToAlignment counts the floats to the next 64-byte boundary", () => {
    const a = new Float32Array(100_000);
    const base = addon().floatsToAlignment!(a);
    assert.ok(base >= 0 && base < 16);
    // Moving the start by k floats moves the boundary k floats closer (modulo a line of 16 floats).
    for (let k = 0; k < 40; k++) assert.equal(addon().floatsToAlignment!(a.subarray(k)), (((base - k) % 16) + 16) % 16, `offset ${k}`);
  });

  it("gives zeroed arrays of the asked length that start on a line", () => {
    const nb = new NativeBackend(addon(), isas()[0]);
    for (const length of [16, 17, 384, 1000, 65_536, 256 * 1536 + 3, 1 << 20]) {
      const buf = nb.allocate(length);
      assert.equal(buf.length, length);
      assert.equal(addon().floatsToAlignment!(buf), 0, `length ${length}`);
      assert.ok(buf.every((v) => v === 0));
    }
  });

  it("puts buffers of 1 MB and more on huge pages where the OS offers them, zeroed, whole, and writable", () => {
    const thp = existsSync(THP_SETTING) && /\[(always|madvise)\]/.test(readFileSync(THP_SETTING, "utf8"));
    const bytes = 3 * (1 << 20) + 4 * 7;
    const buffer = addon().hugePageBuffer!(bytes);
    if (!thp) return assert.equal(buffer, null);
    assert.ok(buffer instanceof ArrayBuffer);
    assert.equal(buffer.byteLength, bytes);
    const floats = new Float32Array(buffer);
    assert.equal(addon().floatsToAlignment!(floats), 0);
    assert.ok(floats.every((v) => v === 0));
    floats.fill(1.5);
    assert.equal(floats[floats.length - 1], 1.5);
    // The backend hands such a buffer out whole for a large request.
    const big = new NativeBackend(addon(), isas()[0]).allocate(300_000);
    assert.equal(big.byteOffset, 0);
    assert.equal(big.buffer.byteLength, 1_200_000);
    assert.throws(() => addon().hugePageBuffer!(0), /positive integer/);
    assert.throws(() => addon().hugePageBuffer!(1.5), /positive integer/);
  });
});

const THP_SETTING = "/sys/kernel/mm/transparent_hugepage/enabled";
