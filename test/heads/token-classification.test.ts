/**
 * BertForTokenClassification: per-token logits and argmax labels against PyTorch on every golden
 * input (pairs and a >512-token text truncated as the reference was), alone and batched; and the
 * head's arithmetic on a tiny random model built here.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { BertForTokenClassification } from "../../src/heads/token-classification.js";
import { BertModel } from "../../src/models/bert/model.js";
import { assertBitIdentical, assertClose } from "../helpers/assert.js";
import { loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";
import { mulberry32, tinyConfig, tinyWeights } from "../helpers/tiny-model.js";

const TOL = 1e-4;
const NAME = "bert-micro-ner-random";

function argmaxRows(t: { data: Float32Array; shape: readonly number[] }): number[] {
  const [rows, cols] = t.shape;
  return Array.from({ length: rows }, (_, r) => {
    let best = 0;
    for (let c = 1; c < cols; c++) if (t.data[r * cols + c] > t.data[r * cols + best]) best = c;
    return best;
  });
}

describe("BertForTokenClassification: golden logits", { skip: skipUnlessModel(NAME) || skipUnlessGolden(`${NAME}.json`) }, () => {
  let ner: BertForTokenClassification;
  let g: any;
  before(async () => {
    g = loadGolden(`${NAME}.json`);
    ner = await BertForTokenClassification.fromPretrained(modelPath(NAME));
  });

  it("matches logits [seq][labels] and argmax labels on every reference input", () => {
    assert.equal(ner.numLabels, 9);
    for (const [i, inp] of g.inputs.entries()) {
      const out = ner.forward({ inputIds: inp.input_ids, tokenTypeIds: inp.token_type_ids, attentionMask: inp.attention_mask });
      const logits = out.logits(0);
      assert.deepEqual(logits.shape, [inp.input_ids.length, 9]);
      assertClose(logits.data, inp.outputs.tokcls.logits, TOL, `input ${i} logits`);
      const labels = argmaxRows(logits).map((k) => ner.labels[k]);
      assert.deepEqual(labels, inp.outputs.tokcls.argmax_labels, `input ${i} labels`);
    }
  });

  it("reports the same loading info as Hugging Face", () => {
    const info = g.models.tokcls.loading_info;
    assert.deepEqual(ner.loadReport, { missingKeys: info.missing_keys, unexpectedKeys: info.unexpected_keys });
  });

  it("gives the same logits batched as alone", () => {
    const inputs = g.inputs.map((inp: any) => ({ inputIds: inp.input_ids, tokenTypeIds: inp.token_type_ids }));
    const batched = ner.forward(inputs);
    for (const [i, inp] of inputs.entries()) {
      assertBitIdentical(batched.logits(i).data, ner.forward(inp).logits(0).data, `input ${i}`);
    }
  });
});

describe("BertForTokenClassification: head arithmetic", () => {
  it("is classifier · h + b on every token, labels from id2label", () => {
    const id2label = { 0: "O", 1: "B-X", 2: "I-X" };
    const cfg = tinyConfig({ id2label });
    const w = tinyWeights(cfg, 4, "bert.", false);
    const rand = mulberry32(5);
    const h = cfg.hidden_size;
    const W = Float32Array.from({ length: 3 * h }, () => rand() - 0.5);
    const B = Float32Array.from([0.1, -0.2, 0.3]);
    w.map.set("classifier.weight", { shape: [3, h], data: W });
    w.map.set("classifier.bias", { shape: [3], data: B });
    const ner = BertForTokenClassification.fromModel(BertModel.fromWeights(cfg, w, new ReferenceBackend()));
    const ids = [2, 7, 8, 9, 3];
    const out = ner.forward({ inputIds: ids });
    const hidden = out.encoder.sequence(0).data;
    const expected = ids.flatMap((_, t) =>
      [0, 1, 2].map((c) => {
        let s = B[c];
        for (let k = 0; k < h; k++) s += W[c * h + k] * hidden[t * h + k];
        return s;
      }),
    );
    assertClose(out.logits(0).data, expected, 1e-5, "logits");
    assert.deepEqual(ner.labels, ["O", "B-X", "I-X"]);
  });

  it("checks the classifier's shape against id2label", () => {
    const cfg = tinyConfig({ id2label: { 0: "O", 1: "B-X" } });
    const w = tinyWeights(cfg, 4, "bert.", false);
    w.map.set("classifier.weight", { shape: [3, cfg.hidden_size], data: new Float32Array(3 * cfg.hidden_size) });
    w.map.set("classifier.bias", { shape: [3], data: new Float32Array(3) });
    assert.throws(() => BertForTokenClassification.fromModel(BertModel.fromWeights(cfg, w, new ReferenceBackend())), /classifier.weight.*\[3, 16\].*\[2, 16\]/);
  });
});
