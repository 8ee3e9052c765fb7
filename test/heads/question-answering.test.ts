/**
 * BertForQuestionAnswering: start/end logits against PyTorch on every golden input (pairs and a
 * >512-token context truncated as the reference was), alone and batched; and the head's
 * arithmetic on a tiny random model built here.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { BertForQuestionAnswering } from "../../src/heads/question-answering.js";
import { BertModel } from "../../src/models/bert/model.js";
import { assertBitIdentical, assertClose } from "../helpers/assert.js";
import { loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";
import { mulberry32, tinyConfig, tinyWeights } from "../helpers/tiny-model.js";

const TOL = 1e-4;
const NAME = "bert-micro-qa-random";

describe("BertForQuestionAnswering: golden logits", { skip: skipUnlessModel(NAME) || skipUnlessGolden(`${NAME}.json`) }, () => {
  let qa: BertForQuestionAnswering;
  let g: any;
  before(async () => {
    g = loadGolden(`${NAME}.json`);
    qa = await BertForQuestionAnswering.fromPretrained(modelPath(NAME));
  });

  it("matches start_logits and end_logits on every reference input", () => {
    for (const [i, inp] of g.inputs.entries()) {
      const out = qa.forward({ inputIds: inp.input_ids, tokenTypeIds: inp.token_type_ids, attentionMask: inp.attention_mask });
      assertClose(out.startLogits(0), inp.outputs.qa.start_logits, TOL, `input ${i} start_logits`);
      assertClose(out.endLogits(0), inp.outputs.qa.end_logits, TOL, `input ${i} end_logits`);
    }
  });

  it("gives the same logits batched as alone", () => {
    const inputs = g.inputs.map((inp: any) => ({ inputIds: inp.input_ids, tokenTypeIds: inp.token_type_ids }));
    const batched = qa.forward(inputs);
    assert.equal(batched.batchSize, inputs.length);
    for (const [i, inp] of inputs.entries()) {
      const single = qa.forward(inp);
      assertBitIdentical(batched.startLogits(i), single.startLogits(0), `input ${i} start`);
      assertBitIdentical(batched.endLogits(i), single.endLogits(0), `input ${i} end`);
    }
  });

  it("reports the same loading info as Hugging Face", () => {
    const info = g.models.qa.loading_info;
    assert.deepEqual(qa.loadReport, { missingKeys: info.missing_keys, unexpectedKeys: info.unexpected_keys });
  });
});

describe("BertForQuestionAnswering: head arithmetic", () => {
  it("is qa_outputs · h + b on every token", () => {
    const cfg = tinyConfig();
    const w = tinyWeights(cfg, 3, "bert.", false);
    const rand = mulberry32(9);
    const W = Float32Array.from({ length: 2 * cfg.hidden_size }, () => rand() - 0.5);
    const B = Float32Array.from([0.25, -0.5]);
    w.map.set("qa_outputs.weight", { shape: [2, cfg.hidden_size], data: W });
    w.map.set("qa_outputs.bias", { shape: [2], data: B });
    const backend = new ReferenceBackend();
    const qa = BertForQuestionAnswering.fromModel(BertModel.fromWeights(cfg, w, backend));
    const ids = [2, 7, 8, 3, 9, 10, 11, 3];
    const types = [0, 0, 0, 0, 1, 1, 1, 1];
    const out = qa.forward({ inputIds: ids, tokenTypeIds: types });
    const hidden = out.encoder.sequence(0);
    const h = cfg.hidden_size;
    for (const [c, logits] of [out.startLogits(0), out.endLogits(0)].entries()) {
      const expected = ids.map((_, t) => {
        let s = B[c];
        for (let k = 0; k < h; k++) s += W[c * h + k] * hidden.data[t * h + k];
        return s;
      });
      assertClose(logits, expected, 1e-5, c === 0 ? "start" : "end");
    }
  });

  it("names the missing tensor when the checkpoint has no QA head", () => {
    const cfg = tinyConfig();
    const model = BertModel.fromWeights(cfg, tinyWeights(cfg, 3, "bert."), new ReferenceBackend());
    assert.throws(() => BertForQuestionAnswering.fromModel(model), (err: Error) => {
      assert.equal(err.name, "HeadWeightsError");
      assert.match(err.message, /qa_outputs\.weight \[2, 16\], qa_outputs\.bias \[2\]/);
      return true;
    });
  });
});
