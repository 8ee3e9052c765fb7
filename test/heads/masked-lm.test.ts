/**
 * BertForMaskedLM against PyTorch on bert-tiny-pretraining-random (reference token ids): full
 * vocabulary logits at the [MASK] positions, and at every position the top-10 ids/tokens/logits and
 * the logit sum and L2 norm; the batch; the load report against Hugging Face's loading_info.
 * Plus tiny-model unit tests: scoring only some positions equals scoring all, padding handling,
 * the tied vs stored decoder, and the missing-head error.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it, before } from "node:test";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { getBackend } from "../../src/backend/index.js";
import { BertModel } from "../../src/models/bert/model.js";
import { BertForMaskedLM, HeadWeightsError, loadForTask } from "../../src/heads/index.js";
import { topK } from "../../src/heads/scores.js";
import { assertBitIdentical, assertClose } from "../helpers/assert.js";
import { loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";
import { tinyConfig, tinyWeights } from "../helpers/tiny-model.js";

const TOL = 1e-4;
const NAME = "bert-tiny-pretraining-random";
const MASK_ID = 103;
const asInput = (inp: any) => ({ inputIds: inp.input_ids, tokenTypeIds: inp.token_type_ids ?? undefined, attentionMask: inp.attention_mask });

/** Top-k ids must match, except that values within tolerance of each other may swap places. */
function assertTopK(row: Float32Array, refIds: number[], refLogits: number[], label: string): void {
  const ids = topK(row, refIds.length);
  assertClose(ids.map((id) => row[id]), refLogits, TOL, `${label} top logits`);
  for (let k = 0; k < refIds.length; k++) {
    if (ids[k] === refIds[k]) continue;
    assert.ok(Math.abs(row[refIds[k]] - row[ids[k]]) <= 2 * TOL, `${label}: rank ${k} is ${ids[k]}, reference ${refIds[k]} (not a near tie)`);
  }
}

describe(`masked LM parity: ${NAME}`, { skip: skipUnlessModel(NAME) || skipUnlessGolden(`${NAME}.json`) }, () => {
  let mlm: BertForMaskedLM;
  let g: any;
  let vocab: string[];
  before(async () => {
    g = loadGolden(`${NAME}.json`);
    mlm = await BertForMaskedLM.fromPretrained(modelPath(NAME), { backend: getBackend() });
    vocab = readFileSync(join(modelPath(NAME), "vocab.txt"), "utf8").split("\n");
  });

  it("matches logits at every position of every input (full rows at [MASK])", () => {
    for (const [i, inp] of g.inputs.entries()) {
      const ref = inp.outputs.mlm;
      const out = mlm.forward(asInput(inp));
      const logits = out.logits[0];
      assert.deepEqual(out.positions[0], inp.input_ids.map((_: number, t: number) => t));
      assert.deepEqual(logits.shape, [inp.input_ids.length, 30522]);
      for (let t = 0; t < inp.input_ids.length; t++) {
        const row = logits.row(t);
        const label = `input ${i} position ${t}`;
        assertTopK(row, ref.top10_ids[t], ref.top10_logits[t], label);
        assert.deepEqual(ref.top10_ids[t].map((id: number) => vocab[id]), ref.top10_tokens[t], `${label} vocab lookup`);
        let sum = 0, sq = 0;
        for (const v of row) {
          sum += v;
          sq += v * v;
        }
        // Reference sums are rounded to 7 significant digits (|sum| ~ 1e3).
        assertClose([sum, Math.sqrt(sq)], [ref.logit_sum_per_position[t], ref.logit_l2_per_position[t]], 5e-3, `${label} sum/l2`);
      }
      assert.deepEqual(BertForMaskedLM.positionsOf(asInput(inp), MASK_ID), ref.mask_positions);
      for (const [m, pos] of ref.mask_positions.entries()) {
        assertClose(logits.row(pos), ref.mask_position_logits[m], TOL, `input ${i} [MASK] at ${pos}`);
      }
    }
  });

  it("scores only the positions asked for, identically", () => {
    const withMask = g.inputs.filter((inp: any) => inp.outputs.mlm.mask_positions.length > 0);
    assert.ok(withMask.length >= 2);
    const inputs = withMask.map(asInput);
    const out = mlm.forward(inputs, { positions: withMask.map((inp: any) => inp.outputs.mlm.mask_positions) });
    for (const [b, inp] of withMask.entries()) {
      assert.deepEqual(out.positions[b], inp.outputs.mlm.mask_positions);
      for (const [m] of inp.outputs.mlm.mask_positions.entries()) {
        assertClose(out.logits[b].row(m), inp.outputs.mlm.mask_position_logits[m], TOL, `masked-only input ${b} mask ${m}`);
      }
    }
  });

  it("gives the same [MASK] logits in the padded batch", () => {
    const batch = g.models.mlm.batch;
    const inputs = batch.input_ids.map((ids: number[], b: number) => ({
      inputIds: ids,
      tokenTypeIds: batch.token_type_ids[b],
      attentionMask: batch.attention_mask[b],
    }));
    const out = mlm.forward(inputs, { positions: inputs.map((x: any) => BertForMaskedLM.positionsOf(x, MASK_ID)) });
    for (const [i, inp] of g.inputs.entries()) {
      for (const [m] of inp.outputs.mlm.mask_positions.entries()) {
        assertClose(out.logits[i].row(m), inp.outputs.mlm.mask_position_logits[m], TOL, `batch input ${i} mask ${m}`);
      }
    }
  });

  it("reports missing/unexpected keys like Hugging Face's loading_info", () => {
    const info = g.models.mlm.loading_info;
    assert.deepEqual(mlm.loadReport, { missingKeys: info.missing_keys, unexpectedKeys: info.unexpected_keys });
  });
});

describe("masked LM on a checkpoint without the head", { skip: skipUnlessModel("bert-micro-seqcls-random") }, () => {
  it("names every missing tensor", async () => {
    await assert.rejects(loadForTask("fill-mask", modelPath("bert-micro-seqcls-random"), { backend: getBackend() }), (err: unknown) => {
      assert.ok(err instanceof HeadWeightsError);
      assert.deepEqual(err.missing, [
        "cls.predictions.transform.dense.weight",
        "cls.predictions.transform.dense.bias",
        "cls.predictions.transform.LayerNorm.weight",
        "cls.predictions.transform.LayerNorm.bias",
        "cls.predictions.bias",
      ]);
      return true;
    });
  });
});

describe("BertForMaskedLM on a tiny random model", () => {
  const backend = new ReferenceBackend();
  const build = (storeDecoder: boolean) => {
    const config = tinyConfig();
    const weights = tinyWeights(config, 3, "bert.");
    const h = config.hidden_size, v = config.vocab_size;
    const put = (name: string, shape: number[], f: (i: number) => number) =>
      weights.map.set(name, { shape, data: Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => f(i)) });
    put("cls.predictions.transform.dense.weight", [h, h], (i) => Math.sin(i) * 0.3);
    put("cls.predictions.transform.dense.bias", [h], (i) => i / 100);
    put("cls.predictions.transform.LayerNorm.weight", [h], (i) => 1 + i / 50);
    put("cls.predictions.transform.LayerNorm.bias", [h], (i) => -i / 70);
    put("cls.predictions.bias", [v], (i) => Math.cos(i) * 0.1);
    if (storeDecoder) put("cls.predictions.decoder.weight", [v, h], (i) => Math.cos(i * 0.7));
    return { config, weights, mlm: BertForMaskedLM.fromModel(BertModel.fromWeights(config, weights, backend)) };
  };
  const input = { inputIds: [2, 4, 9, 4, 3, 0, 0], tokenTypeIds: [0, 0, 0, 0, 0, 0, 0], attentionMask: [1, 1, 1, 1, 1, 0, 0] };

  it("scores a subset bit-identically to the full run, and refuses padding positions", () => {
    const { mlm } = build(false);
    const all = mlm.forward(input);
    assert.deepEqual(all.positions, [[0, 1, 2, 3, 4]]);
    const masks = BertForMaskedLM.positionsOf(input, 4);
    assert.deepEqual(masks, [1, 3]);
    const some = mlm.forward(input, { positions: [masks] });
    assertBitIdentical(some.logits[0].row(0), all.logits[0].row(1), "position 1");
    assertBitIdentical(some.logits[0].row(1), all.logits[0].row(3), "position 3");
    assert.throws(() => mlm.forward(input, { positions: [[5]] }), /position 5 is padding/);
    assert.throws(() => mlm.forward(input, { positions: [[9]] }), /position 9 is out of range/);
  });

  it("ties the decoder to the word embeddings unless a decoder weight is stored", () => {
    const tied = build(false);
    const untied = build(true);
    // Same encoder and transform; only the decoder differs, so logits differ.
    const a = tied.mlm.forward(input).logits[0].data, b = untied.mlm.forward(input).logits[0].data;
    assert.notDeepEqual(Array.from(a.slice(0, 10)), Array.from(b.slice(0, 10)));
    assert.deepEqual(tied.mlm.loadReport, { missingKeys: [], unexpectedKeys: ["bert.pooler.dense.bias", "bert.pooler.dense.weight"] });
    assert.deepEqual(untied.mlm.loadReport.unexpectedKeys, ["bert.pooler.dense.bias", "bert.pooler.dense.weight"]);
  });
});
