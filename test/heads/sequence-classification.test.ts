/**
 * BertForSequenceClassification (and the RoBERTa classifier) against PyTorch: logits, softmax,
 * sigmoid and argmax label for every golden input (fed the reference token ids), the padded batch,
 * and the load report against Hugging Face's loading_info. Plus unit tests on a tiny random model:
 * logits = W·pooler_output + b, label defaults, problem types, and the missing-head error.
 */
import assert from "node:assert/strict";
import { describe, it, before } from "node:test";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { getBackend } from "../../src/backend/index.js";
import { BertModel } from "../../src/models/bert/model.js";
import { BertForSequenceClassification, HeadWeightsError, loadForTask, loadFromArchitectures } from "../../src/heads/index.js";
import { softmax, sigmoid, topK } from "../../src/heads/scores.js";
import { assertClose } from "../helpers/assert.js";
import { loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";
import { tinyConfig, tinyWeights } from "../helpers/tiny-model.js";

const TOL = 1e-4;
const MODELS = [
  "bert-micro-seqcls-random",
  "bert-micro-multilabel-random",
  "roberta-nano-seqcls-random",
  "distilbert-micro-seqcls-random",
  "electra-micro-seqcls-random",
];

const asInput = (inp: any) => ({ inputIds: inp.input_ids, tokenTypeIds: inp.token_type_ids ?? undefined, attentionMask: inp.attention_mask });

for (const name of MODELS) {
  const skip = skipUnlessModel(name) || skipUnlessGolden(`${name}.json`);
  describe(`sequence classification parity: ${name}`, { skip }, () => {
    let clf: BertForSequenceClassification;
    let g: any;
    before(async () => {
      g = loadGolden(`${name}.json`);
      clf = await BertForSequenceClassification.fromPretrained(modelPath(name), { backend: getBackend() });
    });

    it("has the config's labels and problem type", () => {
      const id2label = g.meta.config.id2label;
      assert.deepEqual(clf.labels, Object.keys(id2label).map((k) => id2label[k]));
      const expected = g.meta.config.problem_type ?? "single_label_classification";
      assert.equal(clf.problemType, expected);
    });

    it("matches logits, softmax, sigmoid and argmax label on every input", () => {
      for (const [i, inp] of g.inputs.entries()) {
        const ref = inp.outputs.seqcls;
        const logits = clf.forward(asInput(inp)).logits;
        assert.deepEqual(logits.shape, [1, clf.numLabels]);
        assertClose(logits.data, ref.logits, TOL, `${name} input ${i} logits`);
        assertClose(softmax(logits.data), ref.softmax, TOL, `${name} input ${i} softmax`);
        assertClose(sigmoid(logits.data), ref.sigmoid, TOL, `${name} input ${i} sigmoid`);
        assert.equal(clf.labels[topK(logits.data, 1)[0]], ref.argmax_label, `${name} input ${i} label`);
      }
    });

    it("gives the same logits in a padded batch", () => {
      const batch = g.models.seqcls.batch;
      const inputs = batch.input_ids.map((ids: number[], b: number) => ({
        inputIds: ids,
        tokenTypeIds: batch.token_type_ids?.[b] ?? undefined,
        attentionMask: batch.attention_mask[b],
      }));
      const logits = clf.forward(inputs).logits;
      assert.deepEqual(logits.shape, [inputs.length, clf.numLabels]);
      for (const [i, inp] of g.inputs.entries()) assertClose(logits.row(i), inp.outputs.seqcls.logits, TOL, `${name} batch row ${i}`);
    });

    it("reports missing/unexpected keys like Hugging Face's loading_info", () => {
      const info = g.models.seqcls.loading_info;
      assert.deepEqual(clf.loadReport, { missingKeys: info.missing_keys, unexpectedKeys: info.unexpected_keys });
    });

    it("is what the architectures registry builds", async () => {
      const auto = await loadFromArchitectures(modelPath(name), { backend: getBackend() });
      assert.equal(auto.task, "text-classification");
      assert.ok(auto.head instanceof BertForSequenceClassification);
    });
  });
}

describe("sequence classification on a checkpoint without the head", { skip: skipUnlessModel("bert-micro-ner-random") }, () => {
  it("names the missing tensors and the declared architecture", async () => {
    await assert.rejects(loadForTask("text-classification", modelPath("bert-micro-ner-random"), { backend: getBackend() }), (err: unknown) => {
      assert.ok(err instanceof HeadWeightsError);
      assert.deepEqual(err.missing, ["bert.pooler.dense.weight", "bert.pooler.dense.bias"]);
      assert.match(err.message, /bert\.pooler\.dense\.weight \[64, 64\]/);
      assert.match(err.message, /BertForTokenClassification/);
      return true;
    });
  });
});

describe("BertForSequenceClassification on a tiny random model", () => {
  const backend = new ReferenceBackend();
  const build = (overrides: Record<string, unknown>, numLabels: number, withHead = true) => {
    const config = tinyConfig(overrides);
    const weights = tinyWeights(config, 7, "bert.");
    if (withHead) {
      const h = config.hidden_size;
      weights.map.set("classifier.weight", { shape: [numLabels, h], data: Float32Array.from({ length: numLabels * h }, (_, i) => Math.sin(i)) });
      weights.map.set("classifier.bias", { shape: [numLabels], data: Float32Array.from({ length: numLabels }, (_, i) => i / 10) });
    }
    return { config, weights, model: BertModel.fromWeights(config, weights, backend) };
  };

  it("computes classifier(pooler_output) exactly", () => {
    const { model, weights, config } = build({ id2label: { 0: "a", 1: "b", 2: "c" } }, 3);
    const clf = BertForSequenceClassification.fromModel(model);
    const input = { inputIds: [2, 7, 9, 3], tokenTypeIds: [0, 0, 0, 0] };
    const pooled = model.forward(input).poolerOutput.data;
    const W = weights.map.get("classifier.weight")!.data, b = weights.map.get("classifier.bias")!.data;
    const h = config.hidden_size;
    const expected = [0, 1, 2].map((o) => b[o] + Array.from(pooled).reduce((s, x, i) => s + x * W[o * h + i], 0));
    assertClose(clf.forward(input).logits.data, expected, 1e-5, "tiny logits");
    assert.deepEqual(clf.labels, ["a", "b", "c"]);
    assert.deepEqual(clf.loadReport, { missingKeys: [], unexpectedKeys: [] });
  });

  it("defaults to LABEL_0/LABEL_1 and infers the problem type like Hugging Face", () => {
    assert.deepEqual(BertForSequenceClassification.fromModel(build({}, 2).model).labels, ["LABEL_0", "LABEL_1"]);
    assert.equal(BertForSequenceClassification.fromModel(build({}, 2).model).problemType, "single_label_classification");
    assert.equal(BertForSequenceClassification.fromModel(build({ id2label: { 0: "score" } }, 1).model).problemType, "regression");
    const multi = build({ id2label: { 0: "x", 1: "y" }, problem_type: "multi_label_classification" }, 2).model;
    assert.equal(BertForSequenceClassification.fromModel(multi).problemType, "multi_label_classification");
  });

  it("throws one error naming every absent classifier tensor", () => {
    const { model } = build({ id2label: { 0: "a", 1: "b", 2: "c" } }, 3, false);
    assert.throws(
      () => BertForSequenceClassification.fromModel(model),
      (err: unknown) => err instanceof HeadWeightsError && err.missing.join() === "classifier.weight,classifier.bias" && /\[3, 16\]/.test(err.message),
    );
  });

  it("rejects a classifier whose shape disagrees with id2label", () => {
    const { model } = build({ id2label: { 0: "a", 1: "b" } }, 3);
    assert.throws(() => BertForSequenceClassification.fromModel(model), /classifier\.weight" has shape \[3, 16\] but config.json implies \[2, 16\]/);
  });
});
