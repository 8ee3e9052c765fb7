/**
 * Fast unit tests on a seeded random tiny BERT the test builds itself (no ../shared): the encoder
 * against a textbook float64 implementation written here, packing/padding behaviour, checkpoint
 * name handling and load errors.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { erf } from "../../src/backend/activations.js";
import { BertModel } from "../../src/models/bert/model.js";
import { parseBertConfig } from "../../src/config/bert-config.js";
import { assertBitIdentical, assertClose } from "../helpers/assert.js";
import { MapWeights, tinyConfig, tinyWeights } from "../helpers/tiny-model.js";

const backend = new ReferenceBackend();

/** Straightforward BERT forward in float64 on one unpadded sequence: the oracle. */
function naiveBert(w: MapWeights, cfg: ReturnType<typeof tinyConfig>, ids: number[], types: number[]) {
  const g = (n: string) => Array.from(w.get(n)!.data);
  const h = cfg.hidden_size, heads = cfg.num_attention_heads, d = h / heads, n = ids.length;
  const ln = (x: number[][], gamma: number[], beta: number[]) =>
    x.map((row) => {
      const mu = row.reduce((a, b) => a + b, 0) / h;
      const v = row.reduce((a, b) => a + (b - mu) ** 2, 0) / h;
      return row.map((val, c) => ((val - mu) / Math.sqrt(v + cfg.layer_norm_eps)) * gamma[c] + beta[c]);
    });
  const lin = (x: number[][], W: number[], b: number[], out: number, inp: number) =>
    x.map((row) => Array.from({ length: out }, (_, o) => b[o] + row.reduce((s, xv, i) => s + xv * W[o * inp + i], 0)));
  const we = g("embeddings.word_embeddings.weight"), pe = g("embeddings.position_embeddings.weight"), te = g("embeddings.token_type_embeddings.weight");
  let x = ids.map((id, t) => Array.from({ length: h }, (_, c) => we[id * h + c] + te[types[t] * h + c] + pe[t * h + c]));
  x = ln(x, g("embeddings.LayerNorm.weight"), g("embeddings.LayerNorm.bias"));
  for (let l = 0; l < cfg.num_hidden_layers; l++) {
    const p = `encoder.layer.${l}.`;
    const q = lin(x, g(p + "attention.self.query.weight"), g(p + "attention.self.query.bias"), h, h);
    const k = lin(x, g(p + "attention.self.key.weight"), g(p + "attention.self.key.bias"), h, h);
    const v = lin(x, g(p + "attention.self.value.weight"), g(p + "attention.self.value.bias"), h, h);
    const ctx = x.map(() => new Array(h).fill(0));
    for (let hd = 0; hd < heads; hd++) {
      for (let i = 0; i < n; i++) {
        const s = Array.from({ length: n }, (_, j) => {
          let dotp = 0;
          for (let c = 0; c < d; c++) dotp += q[i][hd * d + c] * k[j][hd * d + c];
          return dotp / Math.sqrt(d);
        });
        const m = Math.max(...s);
        const e = s.map((z) => Math.exp(z - m));
        const z = e.reduce((a, b) => a + b, 0);
        for (let j = 0; j < n; j++) for (let c = 0; c < d; c++) ctx[i][hd * d + c] += (e[j] / z) * v[j][hd * d + c];
      }
    }
    const ao = lin(ctx, g(p + "attention.output.dense.weight"), g(p + "attention.output.dense.bias"), h, h);
    const a = ln(ao.map((r, i) => r.map((val, c) => val + x[i][c])), g(p + "attention.output.LayerNorm.weight"), g(p + "attention.output.LayerNorm.bias"));
    const inter = lin(a, g(p + "intermediate.dense.weight"), g(p + "intermediate.dense.bias"), cfg.intermediate_size, h).map((r) =>
      r.map((val) => 0.5 * val * (1 + erf(val / Math.SQRT2))),
    );
    const o = lin(inter, g(p + "output.dense.weight"), g(p + "output.dense.bias"), h, cfg.intermediate_size);
    x = ln(o.map((r, i) => r.map((val, c) => val + a[i][c])), g(p + "output.LayerNorm.weight"), g(p + "output.LayerNorm.bias"));
  }
  const pooled = lin([x[0]], g("pooler.dense.weight"), g("pooler.dense.bias"), h, h)[0].map(Math.tanh);
  return { hidden: x.flat(), pooled };
}

describe("tiny random BERT", () => {
  const cfg = tinyConfig();
  const weights = tinyWeights(cfg, 7);
  const model = BertModel.fromWeights(cfg, weights, backend);
  const a = { inputIds: [1, 5, 9, 33, 2], tokenTypeIds: [0, 0, 0, 1, 1] };
  const b = { inputIds: [1, 44, 2], tokenTypeIds: [0, 0, 0] };

  it("matches a textbook float64 implementation", () => {
    const ref = naiveBert(weights, cfg, a.inputIds, a.tokenTypeIds);
    const out = model.forward(a);
    assertClose(out.sequence(0).data, ref.hidden, 1e-5, "last_hidden_state");
    assertClose(out.poolerOutput.data, ref.pooled, 1e-5, "pooler_output");
    assert.deepEqual(out.lastHiddenState.shape, [1, 5, 16]);
  });

  it("drops padding: right- and left-padded inputs give the unpadded vectors bit for bit", () => {
    const alone = model.forward(b).sequence(0).data;
    const right = model.forward([a, { inputIds: [...b.inputIds, 0, 0], tokenTypeIds: [0, 0, 0, 0, 0], attentionMask: [1, 1, 1, 0, 0] }]);
    assertBitIdentical(right.sequence(1).data, alone, "right padding");
    assert.deepEqual(right.lastHiddenState.shape, [2, 5, 16]);
    // Padded positions of the padded view are zeros; real ones are the vectors.
    const padded = right.lastHiddenState;
    assert.ok(padded.data.subarray((5 + 3) * 16, 10 * 16).every((v) => v === 0));
    assertBitIdentical(padded.data.subarray(5 * 16, 8 * 16), alone, "padded view");
  });

  it("reads checkpoints with the bert. prefix and legacy gamma/beta names the same way", () => {
    const prefixed = tinyWeights(cfg, 7, "bert.");
    const legacy = new MapWeights(
      new Map([...weights.map].map(([k, v]) => [k.replace(/LayerNorm\.weight$/, "LayerNorm.gamma").replace(/LayerNorm\.bias$/, "LayerNorm.beta"), v])),
    );
    const ref = model.forward(a).sequence(0).data;
    for (const [label, w] of [["prefix", prefixed], ["gamma/beta", legacy]] as const) {
      const m = BertModel.fromWeights(cfg, w, backend);
      assertBitIdentical(m.forward(a).sequence(0).data, ref, label);
      assert.deepEqual(m.loadReport, { missingKeys: [], unexpectedKeys: [] });
    }
  });

  it("reports unexpected tensors and a missing pooler, and refuses pooler_output then", () => {
    const w = tinyWeights(cfg, 3, "bert.", false);
    w.map.set("classifier.weight", { shape: [3, 16], data: new Float32Array(48) });
    const m = BertModel.fromWeights(cfg, w, backend);
    assert.equal(m.hasPooler, false);
    assert.deepEqual(m.loadReport, {
      missingKeys: ["bert.pooler.dense.bias", "bert.pooler.dense.weight"],
      unexpectedKeys: ["classifier.weight"],
    });
    assert.throws(() => m.forward(a).poolerOutput, /pooler_output is unavailable.*"cls"/);
  });

  it("fails clearly on a missing tensor or a wrong shape", () => {
    const missing = tinyWeights(cfg, 3);
    missing.map.delete("encoder.layer.1.intermediate.dense.weight");
    assert.throws(() => BertModel.fromWeights(cfg, missing, backend), /missing weight "encoder\.layer\.1\.intermediate\.dense\.weight"/);
    const wrong = tinyWeights(cfg, 3);
    wrong.map.set("embeddings.word_embeddings.weight", { shape: [49, 16], data: new Float32Array(49 * 16) });
    assert.throws(() => BertModel.fromWeights(cfg, wrong, backend), /has shape \[49, 16\] but the config implies \[50, 16\]/);
  });

  it("rejects bad inputs with clear errors", () => {
    assert.throws(() => model.forward([]), /empty batch/);
    assert.throws(() => model.forward({ inputIds: [1, 50, 2] }), /Token id 50 is outside the vocabulary/);
    assert.throws(() => model.forward({ inputIds: [1, 2], tokenTypeIds: [0, 2] }), /Token type id 2/);
    assert.throws(() => model.forward({ inputIds: new Array(41).fill(1) }), /max_position_embeddings 40/);
    assert.throws(() => model.forward({ inputIds: [1, 2], attentionMask: [0, 0] }), /no real token/);
  });
});

describe("BertConfig validation", () => {
  it("names the field at fault", () => {
    assert.throws(() => parseBertConfig({ hidden_act: "swish" }), /unsupported hidden_act "swish"/);
    assert.throws(() => parseBertConfig({ position_embedding_type: "relative_key" }), /position_embedding_type "relative_key"/);
    assert.throws(() => parseBertConfig({ hidden_size: 100, num_attention_heads: 12 }), /not a multiple of num_attention_heads/);
    assert.throws(() => parseBertConfig({ hidden_size: "768" }), /"hidden_size"/);
    assert.throws(() => parseBertConfig([]), /JSON object/);
    assert.deepEqual(parseBertConfig({ some_new_field: 1 }).unused_keys, ["some_new_field"]);
  });
});
