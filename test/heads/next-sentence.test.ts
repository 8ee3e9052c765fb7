/**
 * BertForNextSentencePrediction against PyTorch on bert-tiny-pretraining-random: logits and softmax
 * for every golden input (reference token ids), the padded batch, the verdict, and the load report
 * against Hugging Face's loading_info. Plus the missing-head error on a classifier checkpoint.
 */
import assert from "node:assert/strict";
import { describe, it, before } from "node:test";
import { getBackend } from "../../src/backend/index.js";
import { BertForNextSentencePrediction, HeadWeightsError, loadForTask } from "../../src/heads/index.js";
import { nextSentenceResult } from "../../src/heads/next-sentence.js";
import { assertClose } from "../helpers/assert.js";
import { loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const TOL = 1e-4;
const NAME = "bert-tiny-pretraining-random";
const asInput = (inp: any) => ({ inputIds: inp.input_ids, tokenTypeIds: inp.token_type_ids ?? undefined, attentionMask: inp.attention_mask });

describe(`next-sentence parity: ${NAME}`, { skip: skipUnlessModel(NAME) || skipUnlessGolden(`${NAME}.json`) }, () => {
  let nsp: BertForNextSentencePrediction;
  let g: any;
  before(async () => {
    g = loadGolden(`${NAME}.json`);
    nsp = await BertForNextSentencePrediction.fromPretrained(modelPath(NAME), { backend: getBackend() });
  });

  it("matches logits and softmax on every input, and the verdict follows argmax", () => {
    for (const [i, inp] of g.inputs.entries()) {
      const ref = inp.outputs.nsp;
      const [res] = nsp.predict(asInput(inp));
      assertClose(res.logits, ref.logits, TOL, `input ${i} logits`);
      assertClose([res.probability, 1 - res.probability], ref.softmax, TOL, `input ${i} softmax`);
      assert.equal(res.isNext, ref.logits[0] >= ref.logits[1], `input ${i} isNext`);
    }
  });

  it("gives the same logits in a padded batch", () => {
    const batch = g.models.nsp.batch;
    const inputs = batch.input_ids.map((ids: number[], b: number) => ({
      inputIds: ids,
      tokenTypeIds: batch.token_type_ids[b],
      attentionMask: batch.attention_mask[b],
    }));
    const { logits } = nsp.forward(inputs);
    assert.deepEqual(logits.shape, [inputs.length, 2]);
    for (const [i, inp] of g.inputs.entries()) assertClose(logits.row(i), inp.outputs.nsp.logits, TOL, `batch row ${i}`);
  });

  it("reports missing/unexpected keys like Hugging Face's loading_info", () => {
    const info = g.models.nsp.loading_info;
    assert.deepEqual(nsp.loadReport, { missingKeys: info.missing_keys, unexpectedKeys: info.unexpected_keys });
  });
});

describe("next-sentence verdicts", () => {
  it("reads index 0 as 'B continues A'", () => {
    assert.deepEqual(nextSentenceResult([2, 0]).isNext, true);
    assert.deepEqual(nextSentenceResult([0, 2]).isNext, false);
    assertClose([nextSentenceResult([2, 0]).probability], [1 / (1 + Math.exp(-2))], 1e-12, "probability");
  });
});

describe("next-sentence on a checkpoint without the head", { skip: skipUnlessModel("bert-micro-seqcls-random") }, () => {
  it("names the missing tensors", async () => {
    await assert.rejects(loadForTask("next-sentence", modelPath("bert-micro-seqcls-random"), { backend: getBackend() }), (err: unknown) => {
      assert.ok(err instanceof HeadWeightsError);
      assert.deepEqual(err.missing, ["cls.seq_relationship.weight", "cls.seq_relationship.bias"]);
      assert.match(err.message, /BertForSequenceClassification/);
      return true;
    });
  });
});
