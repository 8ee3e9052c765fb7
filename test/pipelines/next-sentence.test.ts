/**
 * pipeline("next-sentence") end to end on bert-tiny-pretraining-random: every golden pair, text in,
 * matches PyTorch's NSP logits; single pair vs list of pairs; input checking.
 */
import assert from "node:assert/strict";
import { describe, it, before } from "node:test";
import { getBackend } from "../../src/backend/index.js";
import { pipeline, type NextSentencePipeline } from "../../src/pipelines/index.js";
import { assertClose } from "../helpers/assert.js";
import { loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const NAME = "bert-tiny-pretraining-random";

describe(`next-sentence pipeline: ${NAME}`, { skip: skipUnlessModel(NAME) || skipUnlessGolden(`${NAME}.json`) }, () => {
  let nsp: NextSentencePipeline;
  let pairs: any[];
  before(async () => {
    pairs = loadGolden(`${NAME}.json`).inputs.filter((inp: any) => inp.is_pair);
    nsp = await pipeline("next-sentence", modelPath(NAME), { backend: getBackend() });
  });

  it("matches PyTorch from text on every golden pair", async () => {
    assert.ok(pairs.length >= 3);
    const results = await nsp(pairs.map((inp) => inp.input));
    for (const [i, inp] of pairs.entries()) {
      assertClose(results[i].logits, inp.outputs.nsp.logits, 1e-4, `pair ${i} logits`);
      assertClose([results[i].probability], [inp.outputs.nsp.softmax[0]], 1e-4, `pair ${i} probability`);
      assert.equal(results[i].isNext, inp.outputs.nsp.softmax[0] >= 0.5);
    }
    assert.deepEqual(await nsp(pairs[0].input), results[0]);
  });

  it("rejects anything but pairs of strings", async () => {
    await assert.rejects(nsp([["only one"]] as any), /Expected a pair of strings \[A, B\] for input 0/);
    await assert.rejects(nsp("text" as any), /Expected \[A, B\] or a list of such pairs/);
  });
});
