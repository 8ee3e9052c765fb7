/**
 * Parity with PyTorch: every model in ../shared/models and every text in ../shared/golden, fed the
 * reference token ids (so this checks the encoder and pooling alone; tokenizer parity is tested
 * separately). last_hidden_state, embedding output, pooler_output, every pooled vector and the
 * per-layer hidden-state norms within 1e-4 absolute.
 */
import assert from "node:assert/strict";
import { describe, it, before } from "node:test";
import { BertModel } from "../../src/models/bert/model.js";
import { pool } from "../../src/pooling/pool.js";
import { getBackend } from "../../src/backend/index.js";
import { assertBitIdentical, assertClose } from "../helpers/assert.js";
import { loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";
import { GOLDEN_POOLED } from "../helpers/golden-pooling.js";

const TOL = 1e-4;
const MODELS = [
  "bert-micro-seqcls-random",
  "bert-micro-multilabel-random",
  "bert-micro-ner-random",
  "bert-micro-qa-random",
  "bert-micro-chinese-random",
  "bert-tiny-pretraining-random",
  "minilm-l6-h384-random",
  "roberta-micro-random",
  "roberta-nano-seqcls-random",
  "distilbert-micro-random",
  "distilbert-micro-seqcls-random",
  "electra-micro-seqcls-random",
  "albert-micro-random",
  "mpnet-micro-random",
  "xlm-roberta-micro-random",
];


function l2Norms(x: Float32Array, rows: number, h: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < h; c++) s += x[r * h + c] ** 2;
    out.push(Math.sqrt(s));
  }
  return out;
}

for (const name of MODELS) {
  const golden = `${name}.json`;
  const skip = skipUnlessModel(name) || skipUnlessGolden(golden);
  describe(`encoder parity: ${name}`, { skip }, () => {
    let model: BertModel;
    let g: any;
    before(async () => {
      g = loadGolden(golden);
      model = await BertModel.fromPretrained(modelPath(name), { backend: getBackend() });
    });

    it("matches PyTorch on every reference input", () => {
      const base = g.models.base;
      const L = model.config.num_hidden_layers;
      for (const [i, inp] of g.inputs.entries()) {
        const label = `${name} input ${i}`;
        const out = model.forward(
          { inputIds: inp.input_ids, tokenTypeIds: inp.token_type_ids ?? undefined, attentionMask: inp.attention_mask },
          { outputHiddenStates: true },
        );
        const h = model.config.hidden_size;
        const len = inp.input_ids.length;
        // Per-layer norms are in every task's outputs (same encoder), so every checkpoint is checked.
        const task = Object.values(inp.outputs)[0] as any;
        for (let layer = 0; layer <= L; layer++) {
          assertClose(l2Norms(out.hiddenStateLayer(layer), len, h), task.hidden_states_l2_norms[layer], TOL * 10, `${label} layer ${layer} norms`);
        }
        if (!base) continue;
        const ref = inp.outputs.base;
        assertClose(out.sequence(0).data, ref.last_hidden_state, TOL, `${label} last_hidden_state`);
        if (ref.embedding_output) assertClose(out.hiddenStateLayer(0), ref.embedding_output, TOL, `${label} embedding_output`);
        if (base.pooler_from_checkpoint) {
          assertClose(out.poolerOutput.data, ref.pooler_output, TOL, `${label} pooler_output`);
        } else {
          assert.throws(() => out.poolerOutput, /pooler_output is unavailable/);
        }
        for (const [key, opts] of Object.entries(GOLDEN_POOLED)) {
          const [v] = pool(out, opts, L);
          assertClose(v, ref.pooled[key], TOL, `${label} pooled.${key}`);
        }
      }
    });

    it("reports missing/unexpected keys like Hugging Face's loading_info for the base model", { skip: skip || (!loadGolden(golden).models.base && "no base model in the reference") }, () => {
      const info = g.models.base.loading_info;
      assert.deepEqual(model.loadReport, { missingKeys: info.missing_keys, unexpectedKeys: info.unexpected_keys });
    });

    it("gives bit-identical vectors alone and in a padded batch (and matches the batched reference)", () => {
      const batch = (g.models.base ?? Object.values(g.models)[0]).batch;
      const inputs = batch.input_ids.map((ids: number[], b: number) => ({
        inputIds: ids,
        tokenTypeIds: batch.token_type_ids?.[b] ?? undefined,
        attentionMask: batch.attention_mask[b],
      }));
      const batched = model.forward(inputs);
      // The padded view has the batch's padded shape.
      assert.deepEqual(batched.lastHiddenState.shape, [inputs.length, batch.padded_length, model.config.hidden_size]);
      // Alone vs in the batch, in two different orders.
      const order = inputs.map((_: unknown, i: number) => i).reverse();
      const reversed = model.forward(order.map((i: number) => inputs[i]));
      for (const [i, inp] of g.inputs.entries()) {
        const single = model.forward({ inputIds: inp.input_ids, tokenTypeIds: inp.token_type_ids ?? undefined });
        assertBitIdentical(batched.sequence(i).data, single.sequence(0).data, `${name} input ${i} batched`);
        assertBitIdentical(reversed.sequence(order.indexOf(i)).data, single.sequence(0).data, `${name} input ${i} reversed batch`);
        if (g.models.base) assertClose(batched.sequence(i).data, inp.outputs.base.last_hidden_state, TOL, `${name} input ${i} batch vs PyTorch`);
      }
    });
  });
}
