/**
 * Family variants no shared folder has, against PyTorch (test/fixtures/families-pytorch: outputs of
 * transformers 4.38 on seeded weights this test regenerates): ALBERT with several layer groups and
 * inner layers under "albert." with AlbertForSequenceClassification, MPNetForSequenceClassification,
 * DistilBERT with sinusoidal_pos_embds (the stored table is used, as from_pretrained does) and its QA
 * and token-classification heads, ELECTRA token classification, XLM-RoBERTa QA, and each family's
 * *ForMaskedLM (ELECTRA and ALBERT predict in embedding_size, decoders tied). Hidden states,
 * pooler, per-layer norms and head logits within 1e-4; load reports as loading_info.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { getBackend } from "../../src/backend/index.js";
import { parseBertConfig } from "../../src/config/bert-config.js";
import { headForModel, tasksForConfig } from "../../src/heads/index.js";
import { BertModel } from "../../src/models/bert/model.js";
import { assertClose } from "../helpers/assert.js";
import { seededWeights } from "../helpers/tiny-model.js";

const TOL = 1e-4;
const cases = JSON.parse(readFileSync(new URL("../fixtures/families-pytorch/outputs.json", import.meta.url), "utf8"));

function l2Norms(x: Float32Array, h: number): number[] {
  return Array.from({ length: x.length / h }, (_, r) => Math.hypot(...x.subarray(r * h, (r + 1) * h)));
}

for (const c of cases) {
  describe(`PyTorch parity: ${c.id} (${c.cls})`, () => {
    const load = () => BertModel.fromWeights(parseBertConfig(c.config), seededWeights(c.tensors, c.seed), getBackend());
    const asInput = (inp: any) => ({ inputIds: inp.input_ids, tokenTypeIds: inp.token_type_ids ?? undefined });

    it("encoder: last_hidden_state, pooler_output and every layer's norms", () => {
      const model = load();
      const h = model.config.hidden_size;
      for (const [i, inp] of c.inputs.entries()) {
        const out = model.forward(asInput(inp), { outputHiddenStates: true });
        assertClose(out.sequence(0).data, inp.last_hidden_state, TOL, `${c.id} input ${i} last_hidden_state`);
        assert.equal(out.packedHiddenStates!.length, inp.hidden_states_l2_norms.length, "one hidden state per layer + embeddings");
        inp.hidden_states_l2_norms.forEach((norms: number[], layer: number) => assertClose(l2Norms(out.hiddenStateLayer(layer), h), norms, TOL * 10, `${c.id} input ${i} layer ${layer} norms`));
        if (inp.pooler_output) assertClose(out.poolerOutput.data, inp.pooler_output, TOL, `${c.id} input ${i} pooler_output`);
        else assert.equal(out.hasPoolerOutput, false);
      }
    });

    it("head logits, built from config.json's architectures, with loading_info's report", () => {
      const model = load();
      const [task] = tasksForConfig(model.config);
      const head = headForModel(task, model);
      assert.deepEqual(head.loadReport, { missingKeys: c.loading_info.missing_keys, unexpectedKeys: c.loading_info.unexpected_keys });
      // Both inputs in one batch: each row must match its own single-input reference.
      const inputs = c.inputs.map(asInput);
      if (task === "text-classification") {
        const logits = headForModel(task, model).forward(inputs).logits;
        c.inputs.forEach((inp: any, i: number) => assertClose(logits.row(i), inp.logits, TOL, `${c.id} input ${i} logits`));
      } else if (task === "token-classification") {
        const out = headForModel(task, model).forward(inputs);
        c.inputs.forEach((inp: any, i: number) => assertClose(out.logits(i).data, inp.logits, TOL, `${c.id} input ${i} token logits`));
      } else if (task === "question-answering") {
        const out = headForModel(task, model).forward(inputs);
        c.inputs.forEach((inp: any, i: number) => {
          assertClose(out.startLogits(i), inp.start_logits, TOL, `${c.id} input ${i} start_logits`);
          assertClose(out.endLogits(i), inp.end_logits, TOL, `${c.id} input ${i} end_logits`);
        });
      } else if (task === "fill-mask") {
        const out = headForModel(task, model).forward(inputs);
        c.inputs.forEach((inp: any, i: number) => assertClose(out.logits[i].data, inp.logits, TOL, `${c.id} input ${i} vocabulary logits`));
      } else {
        assert.fail(`${c.id}: unexpected task ${task}`);
      }
    });
  });
}
