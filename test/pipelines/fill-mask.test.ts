/**
 * pipeline("fill-mask") end to end on bert-tiny-pretraining-random: text in, the top-10 tokens at
 * each golden [MASK] equal PyTorch's, scores are the softmax of the reference logits, and the
 * filled sequences are decoded as Hugging Face's FillMaskPipeline does (one mask: special tokens
 * dropped; several: kept, each mask filled alone).
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it, before } from "node:test";
import { getBackend } from "../../src/backend/index.js";
import { softmax } from "../../src/heads/scores.js";
import { pipeline, type FillMaskPipeline } from "../../src/pipelines/index.js";
import { assertClose } from "../helpers/assert.js";
import { loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const NAME = "bert-tiny-pretraining-random";

describe(`fill-mask pipeline: ${NAME}`, { skip: skipUnlessModel(NAME) || skipUnlessGolden(`${NAME}.json`) }, () => {
  let fill: FillMaskPipeline;
  let masked: any[];
  before(async () => {
    masked = loadGolden(`${NAME}.json`).inputs.filter((inp: any) => inp.outputs.mlm.mask_positions.length > 0);
    fill = await pipeline("fill-mask", modelPath(NAME), { backend: getBackend() });
  });

  it("predicts PyTorch's top tokens with softmax scores at every golden [MASK]", async () => {
    assert.ok(masked.length >= 2);
    const results = await fill.run(masked.map((inp) => inp.input), { topK: 10 });
    for (const [i, inp] of masked.entries()) {
      const ref = inp.outputs.mlm;
      assert.deepEqual(results[i].masks.map((m) => m.position), ref.mask_positions);
      for (const [m, mask] of results[i].masks.entries()) {
        const pos = ref.mask_positions[m];
        assert.deepEqual(mask.predictions.map((p) => p.token), ref.top10_ids[pos], `input ${i} ids`);
        assert.deepEqual(mask.predictions.map((p) => p.token_str), ref.top10_tokens[pos], `input ${i} token_str`);
        const probs = softmax(ref.mask_position_logits[m]);
        assertClose(mask.predictions.map((p) => p.score), ref.top10_ids[pos].map((id: number) => probs[id]), 1e-4, `input ${i} scores`);
        assertClose(mask.logits, ref.mask_position_logits[m], 1e-4, `input ${i} logits`);
      }
    }
  });

  it("targets: only those tokens, ranked by PyTorch's full-vocabulary softmax (Hugging Face's get_target_ids)", async () => {
    const inp = masked.find((x) => x.input === "The capital of France is [MASK].");
    const ref = inp.outputs.mlm;
    const probs = softmax(ref.mask_position_logits[0]);
    // Ids from vocab.txt's line numbers, not from the tokenizer under test.
    const vocab = readFileSync(`${modelPath(NAME)}/vocab.txt`, "utf8").split("\n");
    const id = (t: string) => vocab.indexOf(t);
    const warnings: string[] = [];
    // "unaffable" is not one vocabulary token: replaced by its first piece "una"; "paris" twice counts once.
    const targets = ["paris", "london", "the", "unaffable", "paris"];
    const [result] = await fill.run([inp.input], { targets, topK: 10, onWarning: (m) => warnings.push(m) });
    const ids = [id("paris"), id("london"), id("the"), id("una")];
    assert.ok(ids.every((x) => x >= 0));
    const want = ids.sort((a, b) => probs[b] - probs[a]);
    const preds = result.masks[0].predictions;
    assert.deepEqual(preds.map((p) => p.token), want, "four distinct targets, best first");
    assertClose(preds.map((p) => p.score), want.map((t) => probs[t]), 1e-4, "scores over the whole vocabulary");
    assert.deepEqual(warnings, ['The target "unaffable" is not in the vocabulary: replaced by "una"']);
    const top2 = await fill(inp.input, { targets, topK: 2 });
    assert.deepEqual(top2.map((p) => p.token), want.slice(0, 2));
    await assert.rejects(fill.run([inp.input], { targets: ["   "] }), /At least one target/);
  });

  it("fills one [MASK] into readable text, top-5 by default", async () => {
    const preds = await fill("The capital of France is [MASK].");
    assert.equal(preds.length, 5);
    const ref = masked.find((inp) => inp.input === "The capital of France is [MASK].").outputs.mlm;
    const top = ref.top10_tokens[ref.mask_positions[0]][0];
    assert.deepEqual(preds[0], { ...preds[0], token_str: top, sequence: `the capital of france is ${top}.`, mask: 0 });
    const batch = await fill(["The capital of France is [MASK].", "Hello [MASK]!"], { topK: 2 });
    assert.equal(batch.length, 2);
    assert.deepEqual(batch[0], preds.slice(0, 2));
  });

  it("with several masks, fills each alone and keeps the special tokens, as Hugging Face does", async () => {
    const preds = await fill("Paris is the [MASK] of [MASK].", { topK: 3 });
    assert.deepEqual(preds.map((p) => p.mask), [0, 0, 0, 1, 1, 1]);
    assert.equal(preds[0].sequence, `[CLS] paris is the ${preds[0].token_str} of [MASK]. [SEP]`);
    assert.equal(preds[3].sequence, `[CLS] paris is the [MASK] of ${preds[3].token_str}. [SEP]`);
  });

  it("says so when a text has no mask", async () => {
    await assert.rejects(fill("no mask here"), /No mask token \(\[MASK\]\) found in input 0/);
    assert.equal(fill.maskToken, "[MASK]");
  });
});
