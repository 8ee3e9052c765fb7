/**
 * Fast unit tests on a seeded random tiny BERT the test builds itself (no ../shared): the encoder
 * against a textbook float64 implementation written here, packing/padding behaviour, checkpoint
 * name handling and load errors.
 */
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { erf } from "../../src/backend/activations.js";
import { BertModel, rowBlocks } from "../../src/models/bert/model.js";
import { parseBertConfig } from "../../src/config/bert-config.js";
import { NativeBackend } from "../../src/backend/native.js";
import type { Backend } from "../../src/backend/backend.js";
import { loadWeights } from "../../src/io/weights.js";
import { readSafetensors } from "../../src/io/safetensors.js";
import { assertBitIdentical, assertClose } from "../helpers/assert.js";
import { MapWeights, tinyConfig, tinyWeights } from "../helpers/tiny-model.js";
import { addon, skipNative } from "../backend/native-helpers.js";
import { buildSafetensors, makeTempDir, writeFile } from "../io/helpers.js";

const backend = new ReferenceBackend();

/** Straightforward BERT forward in float64 on one unpadded sequence: the oracle. */
function naiveBert(w: MapWeights, cfg: ReturnType<typeof tinyConfig>, ids: number[], types: number[]) {
  const g = (n: string) => Array.from(w.get(n)!.float32());
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

  it("reuseOutputBuffer: each pass's output is the same as a fresh one's, and the buffer is reused", () => {
    const fresh = [model.forward([a, b]).sequence(0).data.slice(), model.forward(b).sequence(0).data.slice()];
    const first = model.forward([a, b], { reuseOutputBuffer: true });
    assertBitIdentical(first.sequence(0).data, fresh[0], "first pass");
    const buffer = first.sequence(0).data.buffer;
    const second = model.forward(b, { reuseOutputBuffer: true });
    assertBitIdentical(second.sequence(0).data, fresh[1], "second pass (shorter, same buffer)");
    assert.equal(second.sequence(0).data.buffer, buffer);
    // Without the option the output is the caller's to keep.
    assert.notEqual(model.forward(b).sequence(0).data.buffer, buffer);
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
    assert.throws(() => BertModel.fromWeights(cfg, wrong, backend), /has shape \[49, 16\] but config.json implies \[50, 16\]/);
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

describe("row blocks: layers run over whole sequences, a block of rows at a time", () => {
  it("groups consecutive whole sequences up to the block size; a longer sequence is a block alone", () => {
    const starts = Int32Array.from([0, 3, 8, 8 + 20, 8 + 20 + 2, 8 + 20 + 2 + 4]);
    const blocks = rowBlocks(starts, 8);
    assert.deepEqual(
      blocks.map((b) => [b.firstRow, b.rows, Array.from(b.seqStarts)]),
      [
        [0, 8, [0, 3, 8]],
        [8, 20, [0, 20]],
        [28, 6, [0, 2, 6]],
      ],
    );
    assert.deepEqual(rowBlocks(Int32Array.from([0, 5]), 512).map((b) => b.rows), [5]);
  });

  it("a batch of many blocks gives every text's vectors bit for bit as alone, attentions included", () => {
    const cfg = tinyConfig();
    const model = BertModel.fromWeights(cfg, tinyWeights(cfg, 5), backend);
    // 60 texts of 7..40 tokens: about 1,400 rows, so several blocks
    const texts = Array.from({ length: 60 }, (_, i) => {
      const n = 7 + ((i * 13) % 34);
      return { inputIds: Array.from({ length: n }, (_, t) => 1 + ((i * 7 + t * 3) % 49)) };
    });
    const batch = model.forward(texts, { outputAttentions: true, outputHiddenStates: true });
    assert.ok(texts.reduce((a, t) => a + t.inputIds.length, 0) > 1024);
    assert.equal(batch.attentions?.length, cfg.num_hidden_layers);
    for (const [i, text] of texts.entries()) {
      const alone = model.forward(text, { outputAttentions: true });
      assertBitIdentical(batch.sequence(i).data, alone.sequence(0).data, `text ${i}`);
      for (let l = 0; l < cfg.num_hidden_layers; l++) {
        assertBitIdentical(batch.attentions![l][i], alone.attentions![l][0], `text ${i} layer ${l} attention`);
      }
    }
  });
});

describe("half-precision checkpoints", () => {
  const tmp = makeTempDir("bert-ts-half-");
  after(tmp.cleanup);
  const cfg = tinyConfig();
  const source = tinyWeights(cfg, 9);

  /** f32 → f16 bits by truncating the mantissa (tiny values flush to zero): any f16 values will do. */
  const f16 = (v: number) => {
    const u = new Uint32Array(Float32Array.of(v).buffer)[0];
    const sign = (u >>> 16) & 0x8000, exp = ((u >>> 23) & 0xff) - 112;
    if (exp <= 0) return sign;
    return sign | (Math.min(exp, 30) << 10) | ((u >>> 13) & 0x3ff);
  };
  const bf16 = (v: number) => new Uint32Array(Float32Array.of(v).buffer)[0] >>> 16;

  const backends: [string, () => Backend][] = [["reference", () => backend]];
  if (!skipNative) backends.push(["native", () => new NativeBackend(addon())]);

  for (const [dtype, toBits] of [["F16", f16], ["BF16", bf16]] as const) {
    for (const [label, make] of backends) {
      it(`${dtype} weights, kept in half precision and converted while packing, equal their float32 conversion bit for bit (${label})`, async () => {
        const dir = join(tmp.dir, `${dtype}-${label}`);
        mkdirSync(dir);
        const file = writeFile(
          dir,
          "model.safetensors",
          buildSafetensors(
            [...source.map].map(([name, t]) => ({
              name,
              dtype,
              shape: t.shape,
              bytes: new Uint8Array(Uint16Array.from(t.data, toBits).buffer),
            })),
          ),
        );
        const lazy = await loadWeights(dir);
        const converted = new MapWeights(new Map((await readSafetensors(file)).map((t) => [t.name, { shape: [...t.shape], data: t.data }])));
        assert.ok([...lazy.names()].every((n) => lazy.get(n)!.storage === dtype.toLowerCase()));
        const inputs = [{ inputIds: [1, 5, 9, 33, 2], tokenTypeIds: [0, 0, 0, 1, 1] }, { inputIds: [1, 44, 2] }];
        const fromHalves = BertModel.fromWeights(cfg, lazy, make()).forward(inputs);
        const fromFloats = BertModel.fromWeights(cfg, converted, make()).forward(inputs);
        assertBitIdentical(fromHalves.lastHiddenState.data, fromFloats.lastHiddenState.data, "last_hidden_state");
        assertBitIdentical(fromHalves.poolerOutput.data, fromFloats.poolerOutput.data, "pooler_output");
        lazy.close();
      });
    }
  }
});
