/**
 * The wasm backend against PyTorch (../shared/golden), end to end from text: token ids exact, then
 * hidden states, pooler output and every pooled vector within 1e-4 for MiniLM and RoBERTa, and the
 * logits of sequence-classification heads; plus batch invariance (a text's vectors bit-identical
 * alone and in a batch, in either order) on the wasm kernels.
 * The whole golden suite also runs on this backend with BERT_TS_BACKEND=wasm.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { BertModel } from "../../src/models/bert/model.js";
import { BertForSequenceClassification } from "../../src/heads/index.js";
import { pool } from "../../src/pooling/pool.js";
import { loadTokenizer } from "../../src/tokenizers/index.js";
import type { Tokenizer } from "../../src/tokenizers/tokenizer.js";
import { assertBitIdentical, assertClose } from "../helpers/assert.js";
import { GOLDEN_POOLED } from "../helpers/golden-pooling.js";
import { loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";
import { skipWasm, wasmBackend } from "./wasm-helpers.js";

const TOL = 1e-4;

/** Tokenizes a golden input as the reference did and checks the ids exactly. */
function encodeExactly(tok: Tokenizer, inp: any, label: string) {
  const [a, b]: [string, string | null] = inp.is_pair ? inp.input : [inp.input, null];
  const enc = tok.encode(a, b, { truncation: "longest_first", maxLength: 512 });
  assert.deepEqual(enc.inputIds, inp.input_ids, `${label} input_ids`);
  assert.deepEqual(enc.attentionMask, inp.attention_mask, `${label} attention_mask`);
  if (inp.token_type_ids) assert.deepEqual(enc.tokenTypeIds, inp.token_type_ids, `${label} token_type_ids`);
  return { inputIds: enc.inputIds, tokenTypeIds: inp.token_type_ids ? enc.tokenTypeIds : undefined, attentionMask: enc.attentionMask };
}

for (const name of ["minilm-l6-h384-random", "roberta-micro-random", "mpnet-micro-random"]) {
  const skip = skipWasm || skipUnlessModel(name) || skipUnlessGolden(`${name}.json`);
  describe(`wasm backend parity: ${name}`, { skip }, () => {
    let model: BertModel;
    let tok: Tokenizer;
    let g: any;
    before(async () => {
      g = loadGolden(`${name}.json`);
      model = await BertModel.fromPretrained(modelPath(name), { backend: wasmBackend() });
      tok = await loadTokenizer(modelPath(name));
      assert.match(model.backend.name, /^wasm simd128/);
    });

    it("matches PyTorch from text: ids, hidden states, pooler output, pooled vectors", () => {
      const L = model.config.num_hidden_layers;
      for (const [i, inp] of g.inputs.entries()) {
        const label = `${name} input ${i}`;
        const out = model.forward(encodeExactly(tok, inp, label), { outputHiddenStates: true });
        const ref = inp.outputs.base;
        assertClose(out.sequence(0).data, ref.last_hidden_state, TOL, `${label} last_hidden_state`);
        if (ref.embedding_output) assertClose(out.hiddenStateLayer(0), ref.embedding_output, TOL, `${label} embedding_output`);
        if (g.models.base.pooler_from_checkpoint) assertClose(out.poolerOutput.data, ref.pooler_output, TOL, `${label} pooler_output`);
        for (const [key, opts] of Object.entries(GOLDEN_POOLED)) {
          const [v] = pool(out, opts, L);
          assertClose(v, ref.pooled[key], TOL, `${label} pooled.${key}`);
        }
      }
    });

    it("gives bit-identical vectors alone and in a batch, in either order", () => {
      const inputs = g.inputs.map((inp: any) => ({ inputIds: inp.input_ids, tokenTypeIds: inp.token_type_ids ?? undefined }));
      const batched = model.forward(inputs);
      const order = inputs.map((_: unknown, i: number) => i).reverse();
      const reversed = model.forward(order.map((i: number) => inputs[i]));
      for (let i = 0; i < inputs.length; i++) {
        const single = model.forward(inputs[i]);
        assertBitIdentical(batched.sequence(i).data, single.sequence(0).data, `${name} input ${i} in the batch`);
        assertBitIdentical(reversed.sequence(order.indexOf(i)).data, single.sequence(0).data, `${name} input ${i} in the reversed batch`);
      }
    });
  });
}

for (const name of ["bert-micro-seqcls-random", "roberta-nano-seqcls-random"]) {
  const skip = skipWasm || skipUnlessModel(name) || skipUnlessGolden(`${name}.json`);
  describe(`wasm backend parity: ${name} head`, { skip }, () => {
    let clf: BertForSequenceClassification;
    let tok: Tokenizer;
    let g: any;
    before(async () => {
      g = loadGolden(`${name}.json`);
      clf = await BertForSequenceClassification.fromPretrained(modelPath(name), { backend: "wasm" });
      tok = await loadTokenizer(modelPath(name));
    });

    it("matches PyTorch's logits from text, alone and in a batch", () => {
      const encoded = g.inputs.map((inp: any, i: number) => encodeExactly(tok, inp, `${name} input ${i}`));
      const batch = clf.forward(encoded).logits;
      for (const [i, inp] of g.inputs.entries()) {
        const logits = clf.forward(encoded[i]).logits;
        assertClose(logits.data, inp.outputs.seqcls.logits, TOL, `${name} input ${i} logits`);
        assertBitIdentical(batch.row(i), logits.data, `${name} input ${i} logits in the batch`);
      }
    });
  });
}
