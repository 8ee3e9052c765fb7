/**
 * RoBERTa from TEXT: every golden input through our RobertaTokenizer, then the encoder (hidden
 * states, embedding output, pooler_output, every pooled vector) and, for the classifier,
 * pipeline("text-classification") logits and softmax — all within 1e-4 of PyTorch. Both loading
 * paths of the tokenizer feed the model the same ids, so one path is run through the model.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { getBackend } from "../../src/backend/index.js";
import { BertModel } from "../../src/models/bert/model.js";
import { pipeline, type TextClassificationInput, type TextClassificationPipeline } from "../../src/pipelines/index.js";
import { pool } from "../../src/pooling/pool.js";
import { loadTokenizer, type Tokenizer } from "../../src/tokenizers/index.js";
import { assertClose } from "../helpers/assert.js";
import { loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";
import { GOLDEN_POOLED } from "../helpers/golden-pooling.js";

const TOL = 1e-4;

const pairOf = (x: any): [string, string | null] => (x.is_pair ? x.input : [x.input, null]);

for (const name of ["roberta-micro-random", "roberta-nano-seqcls-random"]) {
  describe(`RoBERTa from text through the encoder: ${name}`, { skip: skipUnlessModel(name) || skipUnlessGolden(`${name}.json`) }, () => {
    let model: BertModel;
    let tok: Tokenizer;
    let g: any;
    before(async () => {
      g = loadGolden(`${name}.json`);
      [model, tok] = await Promise.all([BertModel.fromPretrained(modelPath(name), { backend: getBackend() }), loadTokenizer(modelPath(name))]);
    });

    it("matches PyTorch on every input, one at a time and in one batch", () => {
      const L = model.config.num_hidden_layers;
      const encodings = g.inputs.map((x: any) => {
        const [a, b] = pairOf(x);
        return tok.encode(a, b, { truncation: "longest_first", maxLength: 512 });
      });
      const batched = model.forward(encodings);
      for (const [i, x] of g.inputs.entries()) {
        const label = `${name} input ${i}`;
        const out = model.forward(encodings[i], { outputHiddenStates: true });
        const task = Object.values(x.outputs)[0] as any;
        const h = model.config.hidden_size;
        const len = encodings[i].inputIds.length;
        for (let layer = 0; layer <= L; layer++) {
          const hs = out.hiddenStateLayer(layer);
          const norms = Array.from({ length: len }, (_, r) => Math.hypot(...hs.subarray(r * h, (r + 1) * h)));
          assertClose(norms, task.hidden_states_l2_norms[layer], TOL * 10, `${label} layer ${layer} norms`);
        }
        const ref = x.outputs.base;
        if (!ref) continue;
        assertClose(out.sequence(0).data, ref.last_hidden_state, TOL, `${label} last_hidden_state`);
        assertClose(batched.sequence(i).data, ref.last_hidden_state, TOL, `${label} last_hidden_state (batch)`);
        if (ref.embedding_output) assertClose(out.hiddenStateLayer(0), ref.embedding_output, TOL, `${label} embedding_output`);
        if (g.models.base.pooler_from_checkpoint) assertClose(out.poolerOutput.data, ref.pooler_output, TOL, `${label} pooler_output`);
        for (const [key, opts] of Object.entries(GOLDEN_POOLED)) {
          const [v] = pool(out, opts, L);
          assertClose(v, ref.pooled[key], TOL, `${label} pooled.${key}`);
        }
      }
    });
  });
}

const SEQCLS = "roberta-nano-seqcls-random";
describe(`text-classification pipeline from text: ${SEQCLS}`, { skip: skipUnlessModel(SEQCLS) || skipUnlessGolden(`${SEQCLS}.json`) }, () => {
  let clf: TextClassificationPipeline;
  let g: any;
  const toInput = (x: string | [string, string]): TextClassificationInput => (typeof x === "string" ? x : { text: x[0], textPair: x[1] });
  before(async () => {
    g = loadGolden(`${SEQCLS}.json`);
    clf = await pipeline("text-classification", modelPath(SEQCLS), { backend: getBackend() });
  });

  it("gives PyTorch's logits and softmax for every input", async () => {
    const results = await clf.run(g.inputs.map((x: any) => toInput(x.input)), { topK: null });
    for (const [i, x] of g.inputs.entries()) {
      const ref = x.outputs.seqcls;
      assertClose(results[i].logits, ref.logits, TOL, `input ${i} logits`);
      const byLabel = new Map(results[i].labels.map((l) => [l.label, l.score]));
      assertClose(clf.model.labels.map((l) => byLabel.get(l)!), ref.softmax, TOL, `input ${i} softmax`);
      assert.equal(results[i].labels[0].label, ref.argmax_label, `input ${i} label`);
    }
  });
});
