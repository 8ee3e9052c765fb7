/**
 * SentenceEncoder end to end (text in, vectors out) against the PyTorch references, plus the
 * behaviour users rely on: the model's own default pooling, batch-size independence, long inputs.
 */
import assert from "node:assert/strict";
import { describe, it, before } from "node:test";
import { SentenceEncoder, quantizeEmbeddings } from "../../src/pipelines/sentence-encoder.js";
import { semanticSearch } from "../../src/pipelines/semantic-search.js";
import { cosineSimilarity } from "../../src/pooling/similarity.js";
import { assertBitIdentical, assertClose } from "../helpers/assert.js";
import { loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const MINILM = "minilm-l6-h384-random";
const skip = skipUnlessModel(MINILM) || skipUnlessGolden(`${MINILM}.json`);

describe("SentenceEncoder on all-MiniLM-L6-v2's architecture", { skip }, () => {
  let encoder: SentenceEncoder;
  let g: any;
  let singles: { index: number; text: string; tokens: number }[];
  before(async () => {
    g = loadGolden(`${MINILM}.json`);
    encoder = await SentenceEncoder.load(modelPath(MINILM), { maxLength: 512 });
    singles = g.inputs
      .map((inp: any, index: number) => ({ index, text: inp.input, tokens: inp.num_tokens_untruncated }))
      .filter((x: any) => typeof x.text === "string");
  });

  it("reads mean pooling + normalisation and max_seq_length 256 from the sentence-transformers files", async () => {
    const dflt = await SentenceEncoder.load(modelPath(MINILM));
    assert.equal(dflt.pooling, "mean");
    assert.equal(dflt.normalize, true);
    assert.equal(dflt.maxLength, 256);
    assert.equal(dflt.randomWeights, true);
    assert.equal(dflt.dimension, 384);
  });

  it("reproduces the reference sentence embeddings from text", async () => {
    const vectors = await encoder.embed(singles.map((s) => s.text));
    singles.forEach((s, k) => {
      assertClose(vectors[k], g.inputs[s.index].outputs.base.pooled.mean_l2_normalized, 1e-4, `input ${s.index}`);
    });
  });

  it("gives other poolings on request (cls, max, pooler)", async () => {
    const texts = singles.slice(0, 4).map((s) => s.text);
    for (const [pooling, key] of [["cls", "cls"], ["max", "max"], ["pooler", null]] as const) {
      const e = await SentenceEncoder.load(modelPath(MINILM), { pooling, normalize: false, maxLength: 512 });
      const vs = await e.embed(texts);
      vs.forEach((v, k) => {
        const ref = g.inputs[singles[k].index].outputs.base;
        assertClose(v, key ? ref.pooled[key] : ref.pooler_output, 1e-4, `${pooling} input ${singles[k].index}`);
      });
    }
  });

  it("keeps the model's Normalize when another pooling is chosen, unless normalize: false", async () => {
    const cls = await SentenceEncoder.load(modelPath(MINILM), { pooling: "cls", maxLength: 512 });
    assert.equal(cls.normalize, true);
    assert.equal(cls.info.modelDefault.strategy, "mean");
    assert.match(cls.info.source, /model's own is mean/);
    const vs = await cls.embed(singles.slice(0, 3).map((s) => s.text));
    vs.forEach((v, k) => assertClose(v, g.inputs[singles[k].index].outputs.base.pooled.cls_l2_normalized, 1e-4, `cls + Normalize, input ${singles[k].index}`));
  });

  it("takes pooling, normalize and dimensions per call", async () => {
    const texts = singles.slice(0, 4).map((s) => s.text);
    const refs = singles.slice(0, 4).map((s) => g.inputs[s.index].outputs.base.pooled);
    (await encoder.embed(texts, { pooling: "cls" })).forEach((v, k) => assertClose(v, refs[k].cls_l2_normalized, 1e-4, `cls (encoder normalises), text ${k}`));
    (await encoder.embed(texts, { pooling: "max", normalize: false })).forEach((v, k) => assertClose(v, refs[k].max, 1e-4, `max, text ${k}`));
    (await encoder.embed(texts, { pooling: "cls_mean", normalize: false })).forEach((v, k) => assertClose(v, refs[k].cls_mean_concat, 1e-4, `cls_mean, text ${k}`));
    // Matryoshka: the first 64 components of the reference mean vector, then normalised.
    const short = await encoder.embed(texts, { dimensions: 64 });
    short.forEach((v, k) => {
      const head = refs[k].mean.slice(0, 64) as number[];
      const n = Math.hypot(...head);
      assert.equal(v.length, 64);
      assertClose(v, head.map((x) => x / n), 1e-4, `dimensions 64, text ${k}`);
    });
    const raw = await encoder.embed(texts, { dimensions: 10, normalize: false });
    raw.forEach((v, k) => assertClose(v, refs[k].mean.slice(0, 10), 1e-4, `dimensions 10 without normalising, text ${k}`));
    await assert.rejects(encoder.embed(texts, { dimensions: 385 }), /dimensions between 1 and the model's 384 but received 385/);
    await assert.rejects(encoder.embed(texts, { dimensions: 0 }), /received 0/);
  });

  it("embeds sentence pairs as BertModel(**tokenizer(a, b)) does, for every pooling", async () => {
    const pairs = g.inputs.map((inp: any, index: number) => ({ index, inp })).filter((x: any) => x.inp.is_pair);
    assert.ok(pairs.length >= 3, "the golden file has pair inputs");
    const inputs: [string, string][] = pairs.map((p: any) => p.inp.input);
    const detailed = await encoder.embedDetailed(inputs);
    detailed.forEach((d, k) => {
      const ref = pairs[k].inp;
      assertClose(d.embedding, ref.outputs.base.pooled.mean_l2_normalized, 1e-4, `pair ${ref.index}`);
      assert.equal(d.numTokens, ref.num_tokens_untruncated, `token count of pair ${ref.index}`);
      assert.equal(d.truncated, ref.truncated, `truncated flag of pair ${ref.index}`);
    });
    for (const [pooling, key] of [["cls", "cls"], ["mean_sqrt_len", "mean_sqrt_len"], ["max", "max"], ["pooler", null]] as const) {
      const vs = await encoder.embed(inputs, { pooling, normalize: false });
      vs.forEach((v, k) => {
        const ref = pairs[k].inp.outputs.base;
        assertClose(v, key ? ref.pooled[key] : ref.pooler_output, 1e-4, `${pooling}, pair ${pairs[k].index}`);
      });
    }
    await assert.rejects(encoder.embed([["only one"] as unknown as [string, string]]), /Expected a string or a \[string, string\] pair for text 0/);
  });

  it("returns one row-major matrix on request", async () => {
    const texts = singles.slice(0, 3).map((s) => s.text);
    const m = await encoder.embedMatrix(texts);
    assert.deepEqual(m.shape, [3, 384]);
    const vs = await encoder.embed(texts);
    vs.forEach((v, i) => assertBitIdentical(m.row(i), v, `row ${i}`));
  });

  it("returns bit-identical vectors whatever the batch size and order", async () => {
    const texts = singles.map((s) => s.text).filter((_, k) => singles[k].tokens < 100);
    const a = await encoder.embed(texts, { batchSize: 1 });
    const b = await encoder.embed(texts, { batchSize: 32 });
    const c = await encoder.embed([...texts].reverse(), { batchSize: 3 });
    a.forEach((v, i) => {
      assertBitIdentical(v, b[i], `batch 32, text ${i}`);
      assertBitIdentical(v, c[texts.length - 1 - i], `reversed batch 3, text ${i}`);
    });
  });

  it("reports truncation, can refuse it, and can chunk long texts into averaged windows", async () => {
    const long = singles.find((s) => s.tokens > 512)!;
    const short = await SentenceEncoder.load(modelPath(MINILM), { maxLength: 64 });
    const truncated: number[] = [];
    await short.embed(["short text", long.text], { onTruncate: (i, n) => truncated.push(i, n) });
    assert.equal(truncated[0], 1);
    assert.ok(truncated[1] > 512);
    await assert.rejects(short.embed([long.text], { longInputs: "error" }), /more than maxLength 64/);

    const chunked = await short.embed(long.text, { longInputs: "chunk", chunkStride: 16 });
    // The same windows embedded one by one and averaged by hand.
    const first = short.tokenizer.encode(long.text, undefined, { truncation: true, maxLength: 64, stride: 16, returnOverflowingTokens: true });
    const windows = [first, ...first.overflowing];
    assert.ok(windows.length > 8);
    const raw = await SentenceEncoder.load(modelPath(MINILM), { maxLength: 64, pooling: "mean", normalize: false });
    const sum = new Float64Array(384);
    for (const w of windows) {
      const out = raw.model.forward(w);
      const v = out.sequence(0).data;
      const len = out.length(0);
      for (let t = 0; t < len; t++) for (let c = 0; c < 384; c++) sum[c] += v[t * 384 + c] / len / windows.length;
    }
    const norm = Math.sqrt(sum.reduce((a, b) => a + b * b, 0));
    assertClose(chunked, Array.from(sum, (x) => x / norm), 1e-5, "chunk average");
  });

  it("searches: exact and lightly edited copies of corpus lines rank their source first", async () => {
    const corpus = singles.map((s) => s.text).filter((t) => t.trim().length > 20);
    const corpusVectors = await encoder.embed(corpus);
    const queries = [corpus[1], corpus[3].replace(/\.$/, ""), corpus[5].toUpperCase()];
    const hits = semanticSearch(await encoder.embed(queries), corpusVectors, { topK: 3 });
    assert.deepEqual(hits.map((h) => h[0].corpusId), [1, 3, 5]);
    // Ranking equals brute-force cosine.
    for (const [q, h] of hits.entries()) {
      const qv = (await encoder.embed([queries[q]]))[0];
      const brute = corpusVectors.map((c, i) => ({ i, s: cosineSimilarity(qv, c) })).sort((a, b) => b.s - a.s).slice(0, 3);
      assert.deepEqual(h.map((x) => x.corpusId), brute.map((x) => x.i));
      h.forEach((x, k) => assert.ok(Math.abs(x.score - brute[k].s) < 1e-12));
    }
    const m = await encoder.similarityMatrix(corpus.slice(0, 3));
    assert.ok(Math.abs(m[0][0] - 1) < 1e-6 && Math.abs(m[0][1] - m[1][0]) < 1e-12);
  });
});

describe("quantizeEmbeddings", () => {
  it("packs binary like numpy.packbits and maps scalar ranges onto 256 buckets", () => {
    const v = [Float32Array.from([1, -1, 0.5, -0.5, 0, 2, -2, 3, 1]), Float32Array.from([-1, 1, -0.5, 0.5, 1, -2, 2, -3, -1])];
    const ub = quantizeEmbeddings(v, "ubinary") as Uint8Array[];
    assert.deepEqual(Array.from(ub[0]), [0b10100101, 0b10000000]);
    const b = quantizeEmbeddings(v, "binary") as Int8Array[];
    assert.deepEqual(Array.from(b[0]), [0b10100101 - 128, 0b10000000 - 128]);
    const q = quantizeEmbeddings(v, "int8") as Int8Array[];
    assert.equal(q[0][0], 127); // max of its dimension
    assert.equal(q[1][0], -128); // min of its dimension
  });
});
