/**
 * The encoder families beside BERT, on what the shared PyTorch references do not cover:
 * - config.json keys of each family (DistilBERT's renamed ones) and errors naming the file's key;
 * - the registry: own-property lookups, a clear error for unknown model types;
 * - MPNet's relative position buckets, hand-computed from modeling_mpnet.py relative_position_bucket;
 * - DistilBERT's sinusoidal position table (no shared checkpoint uses sinusoidal_pos_embds) against
 *   an independent float64 formula and the SHA-256 of transformers' own table, and its use when the
 *   checkpoint stores no table.
 * families-pytorch.test.ts holds the variants checked against PyTorch outputs (ALBERT layer groups...).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { describe, it } from "node:test";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { ConfigError, parseBertConfig, type BertConfig } from "../../src/config/bert-config.js";
import { BertModel } from "../../src/models/bert/model.js";
import { CheckpointError } from "../../src/models/checkpoint.js";
import { sinusoidalPositionTable } from "../../src/models/distilbert/sinusoidal.js";
import { relativePositionBucket } from "../../src/models/mpnet/position-bias.js";
import { familyFor } from "../../src/models/registry.js";
import { assertBitIdentical, assertClose } from "../helpers/assert.js";
import { MapWeights, seededWeights } from "../helpers/tiny-model.js";

const backend = new ReferenceBackend();

const randomWeights = (specs: Record<string, number[]>, seed: number) => seededWeights(Object.entries(specs), seed);

describe("family configs", () => {
  it("reads DistilBERT's keys (dim, n_layers, n_heads, hidden_dim, activation)", () => {
    const c = parseBertConfig({ model_type: "distilbert", dim: 48, n_layers: 3, n_heads: 4, hidden_dim: 96, activation: "relu", sinusoidal_pos_embds: true, seq_classif_dropout: 0.2 });
    assert.deepEqual(
      [c.hidden_size, c.num_hidden_layers, c.num_attention_heads, c.intermediate_size, c.hidden_act, c.sinusoidal_pos_embds, c.unused_keys],
      [48, 3, 4, 96, "relu", true, []],
    );
  });

  it("names the file's own key in errors", () => {
    assert.throws(() => parseBertConfig({ model_type: "distilbert", dim: "32" }), (e: unknown) => e instanceof ConfigError && e.field === "dim" && /"dim"/.test(e.message));
    assert.throws(() => parseBertConfig({ model_type: "distilbert", dim: 30, n_heads: 4 }), /dim 30 is not a multiple of n_heads 4/);
    assert.throws(() => parseBertConfig({ model_type: "distilbert", activation: "swish" }), /unsupported activation "swish"/);
    assert.throws(() => parseBertConfig({ model_type: "distilbert", sinusoidal_pos_embds: "yes" }), /"sinusoidal_pos_embds"/);
    assert.throws(() => parseBertConfig({ model_type: "albert", num_hidden_layers: 12, num_hidden_groups: 5 }), /num_hidden_layers 12 is not a multiple of num_hidden_groups 5/);
    assert.throws(() => parseBertConfig({ model_type: "albert", inner_group_num: 0 }), /"inner_group_num"/);
    assert.throws(() => parseBertConfig({ model_type: "electra", embedding_size: 0 }), /"embedding_size"/);
    assert.throws(() => parseBertConfig({ model_type: "mpnet", relative_attention_num_buckets: 2 }), /"relative_attention_num_buckets"/);
  });

  it("defaults embedding_size to hidden_size, one layer group of one layer, 32 buckets", () => {
    const c = parseBertConfig({ model_type: "bert", hidden_size: 64, num_attention_heads: 2 });
    assert.deepEqual([c.embedding_size, c.num_hidden_groups, c.inner_group_num, c.relative_attention_num_buckets, c.sinusoidal_pos_embds], [64, 1, 1, 32, false]);
  });
});

describe("family registry", () => {
  it("has one entry per supported model_type and refuses the others by own-property lookup", () => {
    for (const t of ["bert", "roberta", "xlm-roberta", "camembert", "distilbert", "electra", "albert", "mpnet"]) assert.equal(familyFor(t).modelType, t);
    for (const t of ["__proto__", "constructor", "toString", "gpt2"]) {
      assert.throws(() => familyFor(t), new RegExp(`Unsupported model_type "${t}"; supported: bert, roberta`));
    }
  });

  it("a model_type without an embedding projection refuses embedding_size != hidden_size", () => {
    const config = parseBertConfig({ model_type: "bert", vocab_size: 5, hidden_size: 8, embedding_size: 4, num_attention_heads: 2, num_hidden_layers: 1, intermediate_size: 8, max_position_embeddings: 4 });
    assert.throws(() => BertModel.fromWeights(config, new MapWeights(new Map()), backend), (e: unknown) => e instanceof CheckpointError && /embedding_size 4 differs from hidden_size 8/.test((e as Error).message));
  });
});

describe("MPNet relative position buckets (modeling_mpnet.py relative_position_bucket, 32 buckets, max_distance 128)", () => {
  // relative position = key - query. Keys before the query (negative) take buckets 0..15, keys after
  // it 16..31; distances 0..7 have their own bucket, 8..127 share logarithmic ones
  // (8 + ⌊log(n/8) / log(16) · 8⌋), 128 and beyond the last one.
  const cases: [number, number][] = [
    [0, 0], [-1, 1], [-7, 7], [1, 17], [7, 23],
    [-8, 8], [8, 24], [-11, 8], [-12, 9], [-15, 9], [-16, 10], [-22, 10], [-23, 11], [-32, 12], [-45, 12], [-46, 13],
    [-63, 13], [-64, 14], [-90, 14], [-91, 15], [-127, 15], [-128, 15], [-5000, 15],
    [16, 26], [64, 30], [127, 31], [513, 31],
  ];
  it("puts each distance in the bucket PyTorch computes", () => {
    for (const [rel, bucket] of cases) assert.equal(relativePositionBucket(rel, 32), bucket, `relative position ${rel}`);
  });
});

describe("DistilBERT sinusoidal positions (sinusoidal_pos_embds; no shared checkpoint uses them)", () => {
  const [numPositions, dim] = [40, 16];

  it("equals sin/cos of pos / 10000^(2i/dim) computed in float64", () => {
    const table = sinusoidalPositionTable(numPositions, dim);
    const want: number[] = [];
    for (let pos = 0; pos < numPositions; pos++) {
      for (let i = 0; i < dim / 2; i++) {
        const angle = pos * Math.exp((-2 * i * Math.log(10000)) / dim);
        want.push(Math.sin(angle), Math.cos(angle));
      }
    }
    assertClose(table, want, 1e-6, "sinusoidal table");
    // Row 0 is sin 0 = 0 and cos 0 = 1, alternating.
    assert.deepEqual(Array.from(table.subarray(0, 4)), [0, 1, 0, 1]);
  });

  it("is bit-identical to transformers 4.38's _create_sinusoidal_embeddings", () => {
    // SHA-256 of the float32 little-endian bytes of _create_sinusoidal_embeddings(n_pos, dim, out),
    // run with ../shared/reference's kit (PyTorch 1.13) on 2026-11-29.
    const sha = (n: number, d: number) => createHash("sha256").update(new Uint8Array(sinusoidalPositionTable(n, d).buffer)).digest("hex");
    assert.equal(sha(512, 32), "849be61b088d3b6a41d7f6a9a7c652a0b525b47e957e0eacb015249109803807");
    assert.equal(sha(512, 768), "8d6fbfc7dc2988fe01e17ab981c41cb9d4f1a82cd7a41c59fe9882bfdc8fff0a");
  });

  function distilbert(sinusoidal: boolean, positions?: Float32Array) {
    const config = parseBertConfig({ model_type: "distilbert", vocab_size: 30, dim: dim, n_layers: 1, n_heads: 2, hidden_dim: 24, max_position_embeddings: numPositions, sinusoidal_pos_embds: sinusoidal });
    const p = "transformer.layer.0.";
    const weights = randomWeights(
      {
        "embeddings.word_embeddings.weight": [30, dim],
        "embeddings.LayerNorm.weight": [dim],
        "embeddings.LayerNorm.bias": [dim],
        ...Object.fromEntries(["q_lin", "k_lin", "v_lin", "out_lin"].flatMap((m) => [[`${p}attention.${m}.weight`, [dim, dim]], [`${p}attention.${m}.bias`, [dim]]])),
        [`${p}sa_layer_norm.weight`]: [dim],
        [`${p}sa_layer_norm.bias`]: [dim],
        [`${p}ffn.lin1.weight`]: [24, dim],
        [`${p}ffn.lin1.bias`]: [24],
        [`${p}ffn.lin2.weight`]: [dim, 24],
        [`${p}ffn.lin2.bias`]: [dim],
        [`${p}output_layer_norm.weight`]: [dim],
        [`${p}output_layer_norm.bias`]: [dim],
      },
      5,
    );
    if (positions) weights.map.set("embeddings.position_embeddings.weight", { shape: [numPositions, dim], data: positions });
    return BertModel.fromWeights(config, weights, backend);
  }

  it("are used when the checkpoint stores no position table, and a stored table wins (as from_pretrained loads it)", () => {
    const input = { inputIds: [2, 7, 11, 3, 29, 0, 5] };
    const formula = new Float32Array(numPositions * dim);
    for (let pos = 0; pos < numPositions; pos++) {
      for (let j = 0; j < dim; j++) {
        const angle = pos / 10000 ** ((2 * Math.floor(j / 2)) / dim);
        formula[pos * dim + j] = j % 2 === 0 ? Math.sin(angle) : Math.cos(angle);
      }
    }
    const computed = distilbert(true).forward(input).sequence(0).data;
    const stored = distilbert(false, formula).forward(input).sequence(0).data;
    assertBitIdentical(computed, stored, "sinusoidal vs the same table stored");
    const other = formula.map((v) => v * 0.5);
    const storedWins = distilbert(true, other).forward(input).sequence(0).data;
    assertBitIdentical(storedWins, distilbert(false, other).forward(input).sequence(0).data, "stored table with sinusoidal_pos_embds");
    assert.throws(() => distilbert(false), /missing weight "embeddings.position_embeddings.weight"/);
  });
});
