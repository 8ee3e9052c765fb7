/**
 * pipeline("text-classification") end to end — text in, through the model folder's tokenizer — on
 * every golden input of the classifier models: logits within 1e-4 of PyTorch, scores with Hugging
 * Face's default function (softmax; sigmoid for multi-label), labels best first, topK, overrides,
 * pairs, batches and the sentiment-analysis alias.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it, before } from "node:test";
import { getBackend } from "../../src/backend/index.js";
import { pipeline, type TextClassificationPipeline, type TextClassificationInput } from "../../src/pipelines/index.js";
import { InvalidInputError } from "../../src/pipelines/input-check.js";
import { SentenceEncoder } from "../../src/pipelines/sentence-encoder.js";
import { assertClose } from "../helpers/assert.js";
import { overlayModel } from "../helpers/overlay.js";
import { loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const TOL = 1e-4;
const CASES = [
  { name: "bert-micro-seqcls-random", fn: "softmax" },
  { name: "bert-micro-multilabel-random", fn: "sigmoid" },
] as const;

const toInput = (x: string | [string, string]): TextClassificationInput => (typeof x === "string" ? x : { text: x[0], textPair: x[1] });

for (const { name, fn } of CASES) {
  describe(`text-classification pipeline: ${name}`, { skip: skipUnlessModel(name) || skipUnlessGolden(`${name}.json`) }, () => {
    let clf: TextClassificationPipeline;
    let g: any;
    before(async () => {
      g = loadGolden(`${name}.json`);
      clf = await pipeline("text-classification", modelPath(name), { backend: getBackend() });
    });

    it(`uses ${fn} by default, like Hugging Face`, () => assert.equal(clf.defaultFunction, fn));

    it("matches PyTorch from text, for every input, in one batch", async () => {
      const results = await clf.run(g.inputs.map((inp: any) => toInput(inp.input)), { topK: null });
      for (const [i, inp] of g.inputs.entries()) {
        const ref = inp.outputs.seqcls;
        const r = results[i];
        assertClose(r.logits, ref.logits, TOL, `input ${i} logits`);
        assert.equal(r.labels.length, clf.model.numLabels);
        const byLabel = new Map(r.labels.map((l) => [l.label, l.score]));
        assertClose(clf.model.labels.map((l) => byLabel.get(l)!), ref[fn], TOL, `input ${i} ${fn}`);
        for (let k = 1; k < r.labels.length; k++) assert.ok(r.labels[k - 1].score >= r.labels[k].score, `input ${i} sorted`);
        assert.equal(r.labels[0].label, ref.argmax_label, `input ${i} top label`);
      }
    });

    it("returns the top label by default, topK labels on request, and one list per input for a batch", async () => {
      const first = g.inputs[0];
      const top = await clf(first.input);
      assert.equal(top.length, 1);
      assert.equal(top[0].label, first.outputs.seqcls.argmax_label);
      assert.equal((await clf(first.input, { topK: 2 })).length, 2);
      const batch = await clf([g.inputs[0].input, g.inputs[1].input], { topK: 2 });
      assert.equal(batch.length, 2);
      assert.deepEqual(batch[1], await clf(g.inputs[1].input, { topK: 2 }));
    });

    it("lets the caller choose the score function", async () => {
      const ref = g.inputs[0].outputs.seqcls;
      const raw = await clf(g.inputs[0].input, { topK: null, functionToApply: "none" });
      assertClose([Math.max(...raw.map((l) => l.score))], [Math.max(...ref.logits)], TOL, "raw logits");
      const other = fn === "softmax" ? "sigmoid" : "softmax";
      const scores = await clf(g.inputs[0].input, { topK: null, functionToApply: other });
      assertClose(scores.map((l) => l.score).sort(), [...ref[other]].sort(), TOL, other);
      await assert.rejects(clf("x", { topK: 0 }), /positive integer or null for topK/);
    });
  });
}

describe("sentiment-analysis alias", { skip: skipUnlessModel("bert-micro-seqcls-random") }, () => {
  it("is the text-classification pipeline", async () => {
    const clf = await pipeline("sentiment-analysis", modelPath("bert-micro-seqcls-random"), { backend: getBackend() });
    assert.equal(clf.task, "text-classification");
  });
});

describe("pipeline()", () => {
  it("rejects unknown tasks and models clearly", async () => {
    await assert.rejects(pipeline("summarization" as any, "x"), /Unknown task "summarization"; supported: text-classification/);
    await assert.rejects(pipeline("text-classification", "./no/such/folder"), /Cannot find model/);
  });
});

describe("text-classification: one input the model cannot take", { skip: skipUnlessModel("bert-micro-seqcls-random") }, () => {
  it("names that input's index in the caller's list (not in its batch), before any forward pass", async () => {
    // A tokenizer with one added token past config.json's vocab_size: texts holding it cannot be embedded.
    const tokenizer = JSON.parse(readFileSync(join(modelPath("bert-micro-seqcls-random"), "tokenizer.json"), "utf8"));
    tokenizer.added_tokens.push({ id: 30522, content: "[XTRA]", single_word: false, lstrip: false, rstrip: false, normalized: false, special: false });
    const dir = overlayModel("bert-micro-seqcls-random", { "tokenizer.json": tokenizer });
    const clf = await pipeline("text-classification", dir, { batchSize: 2 });
    const texts = ["one", "two", "three", "four [XTRA]", "five"];
    await assert.rejects(clf(texts), (e: unknown) => e instanceof InvalidInputError && e.index === 3 && /^Input 3: token "\[XTRA\]" has id 30522/.test(e.message));
    // The other inputs alone are fine.
    assert.equal((await clf(texts.filter((_, i) => i !== 3))).length, 4);
  });
});

describe("embedding: one input the model cannot take", { skip: skipUnlessModel("bert-micro-seqcls-random") }, () => {
  it("names the text and the token (the embedding loop encodes ids only, so the tokenizer names it)", async () => {
    const tokenizer = JSON.parse(readFileSync(join(modelPath("bert-micro-seqcls-random"), "tokenizer.json"), "utf8"));
    tokenizer.added_tokens.push({ id: 30522, content: "[XTRA]", single_word: false, lstrip: false, rstrip: false, normalized: false, special: false });
    const dir = overlayModel("bert-micro-seqcls-random", { "tokenizer.json": tokenizer });
    const encoder = await SentenceEncoder.load(dir);
    await assert.rejects(encoder.embed(["one", "two [XTRA]"]), (e: unknown) => e instanceof InvalidInputError && e.index === 1 && /^Input 1: token "\[XTRA\]" has id 30522/.test(e.message));
  });
});
