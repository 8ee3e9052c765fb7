/**
 * sentence-transformers modules after the encoder (multi-mode Pooling, Dense, Normalize) and
 * prompts, on minilm-l6-h384-random folders whose module files are written by the test. The
 * expected vectors are computed here in float64 from PyTorch's last_hidden_state (golden).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SentenceEncoder } from "../../src/pipelines/sentence-encoder.js";
import { loadTokenizer } from "../../src/tokenizers/index.js";
import { assertClose } from "../helpers/assert.js";
import { overlayModel } from "../helpers/overlay.js";
import { loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";
import { mulberry32 } from "../helpers/random.js";
import { buildSafetensors } from "../io/helpers.js";

const MINILM = "minilm-l6-h384-random";
const H = 384;
const TRANSFORMER = { idx: 0, name: "0", path: "", type: "sentence_transformers.models.Transformer" };
const POOLING = { idx: 1, name: "1", path: "1_Pooling", type: "sentence_transformers.models.Pooling" };
const NORMALIZE = { idx: 3, name: "3", path: "3_Normalize", type: "sentence_transformers.models.Normalize" };

/** Golden input i's last hidden state as float64 rows. */
function hidden(i: number): number[][] {
  return loadGolden(`${MINILM}.json`).inputs[i].outputs.base.last_hidden_state;
}

function mean64(rows: number[][], from = 0): number[] {
  const out = new Array<number>(H).fill(0);
  for (let t = from; t < rows.length; t++) for (let c = 0; c < H; c++) out[c] += rows[t][c];
  return out.map((v) => v / (rows.length - from));
}
const max64 = (rows: number[][]) => Array.from({ length: H }, (_, c) => Math.max(...rows.map((r) => r[c])));
const normalize64 = (v: number[]) => {
  const n = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return v.map((x) => x / n);
};

describe("sentence-transformers modules", { skip: skipUnlessModel(MINILM) || skipUnlessGolden(`${MINILM}.json`) }, () => {
  it("multi-mode Pooling (cls + max + mean, in sentence-transformers' order) → Dense(tanh) → Normalize", async () => {
    const out = 16;
    const rand = mulberry32(7);
    const weight = Float32Array.from({ length: out * 3 * H }, () => (rand() - 0.5) * 0.2);
    const bias = Float32Array.from({ length: out }, () => rand() - 0.5);
    const bytes = (a: Float32Array) => new Uint8Array(a.buffer);
    const dir = overlayModel(MINILM, {
      "modules.json": [TRANSFORMER, POOLING, { idx: 2, name: "2", path: "2_Dense", type: "sentence_transformers.models.Dense" }, NORMALIZE],
      // Flags listed out of order on purpose: the concatenation order is sentence-transformers' own.
      "1_Pooling/config.json": { word_embedding_dimension: H, pooling_mode_mean_tokens: true, pooling_mode_max_tokens: true, pooling_mode_cls_token: true },
      "2_Dense/config.json": { in_features: 3 * H, out_features: out, bias: true, activation_function: "torch.nn.modules.activation.Tanh" },
      "2_Dense/model.safetensors": buildSafetensors([
        { name: "linear.weight", dtype: "F32", shape: [out, 3 * H], bytes: bytes(weight) },
        { name: "linear.bias", dtype: "F32", shape: [out], bytes: bytes(bias) },
      ]),
    });
    const encoder = await SentenceEncoder.load(dir);
    assert.equal(encoder.dimension, out);
    assert.equal(encoder.normalize, true);
    assert.match(encoder.info.modules!, /^Pooling\(cls\+max\+mean\) → Dense\(1152→16, Tanh\) → Normalize$/);
    const g = loadGolden(`${MINILM}.json`).inputs;
    for (const i of [0, 1, 5]) {
      const rows = hidden(i);
      const pooled = [...rows[0], ...max64(rows), ...mean64(rows)];
      const dense = Array.from({ length: out }, (_, o) => Math.tanh(bias[o] + pooled.reduce((s, x, k) => s + weight[o * 3 * H + k] * x, 0)));
      assertClose(await encoder.embed(g[i].input as string), normalize64(dense), 1e-4, `input ${i}`);
    }
  });

  it("refuses unknown modules, Dense activations and mis-shaped Dense weights by name", async () => {
    const unknown = overlayModel(MINILM, { "modules.json": [TRANSFORMER, POOLING, { idx: 2, name: "2", path: "2_X", type: "sentence_transformers.models.WeightedLayerPooling" }] });
    await assert.rejects(SentenceEncoder.load(unknown), /sentence-transformers module sentence_transformers\.models\.WeightedLayerPooling is not supported/);
    const dense = { idx: 2, name: "2", path: "2_Dense", type: "sentence_transformers.models.Dense" };
    const badAct = overlayModel(MINILM, { "modules.json": [TRANSFORMER, POOLING, dense], "2_Dense/config.json": { in_features: H, out_features: 2, activation_function: "torch.nn.modules.activation.GELU" } });
    await assert.rejects(SentenceEncoder.load(badAct), /unsupported Dense activation "torch\.nn\.modules\.activation\.GELU"/);
    const badShape = overlayModel(MINILM, {
      "modules.json": [TRANSFORMER, POOLING, dense],
      "2_Dense/config.json": { in_features: H, out_features: 2, bias: false },
      "2_Dense/model.safetensors": buildSafetensors([{ name: "linear.weight", dtype: "F32", shape: [2, 3], bytes: new Uint8Array(24) }]),
    });
    await assert.rejects(SentenceEncoder.load(badShape), /expected linear\.weight \[2, 384\], found \[2, 3\]/);
  });
});

describe("prompts", { skip: skipUnlessModel(MINILM) || skipUnlessGolden(`${MINILM}.json`) }, () => {
  // Golden input 1 is "The quick brown fox jumps over the lazy dog.": with the prompt "The quick ",
  // the prompted input is exactly that text, whose PyTorch vector is known.
  const prompts = { prompts: { lead: "The quick ", query: "query: " }, default_prompt_name: null };
  const text = "brown fox jumps over the lazy dog.";

  it("promptName / prompt prepend the text: ids equal tokenizer(prompt + text), the vector PyTorch's", async () => {
    const dir = overlayModel(MINILM, { "config_sentence_transformers.json": prompts });
    const encoder = await SentenceEncoder.load(dir);
    const tokenizer = await loadTokenizer(dir);
    const g = loadGolden(`${MINILM}.json`).inputs[1];
    const [tokens] = await encoder.tokenEmbeddings([text], { promptName: "lead" });
    assert.deepEqual(tokens.tokens, tokenizer.encode("The quick " + text).tokens);
    assert.deepEqual(tokenizer.convertTokensToIds(tokens.tokens), g.input_ids);
    assertClose(await encoder.embed(text, { promptName: "lead" }), g.outputs.base.pooled.mean_l2_normalized, 1e-4, "prompted vector");
    assertClose(await encoder.embed(text, { prompt: "The quick " }), g.outputs.base.pooled.mean_l2_normalized, 1e-4, "prompt text");
    await assert.rejects(encoder.embed(text, { promptName: "passage" }), /Unknown prompt name "passage": the model's prompts are lead, query/);
    await assert.rejects(encoder.embed(text, { promptName: "lead", prompt: "x" }), /either a prompt or a promptName, not both/);
  });

  it("default_prompt_name applies when no prompt is given; prompt tokens count toward truncation", async () => {
    const dir = overlayModel(MINILM, { "config_sentence_transformers.json": { ...prompts, default_prompt_name: "lead" } });
    const g = loadGolden(`${MINILM}.json`).inputs[1];
    const encoder = await SentenceEncoder.load(dir);
    assertClose(await encoder.embed(text), g.outputs.base.pooled.mean_l2_normalized, 1e-4, "default prompt");
    const short = await SentenceEncoder.load(dir, { maxLength: 6 });
    const cut: number[] = [];
    const [tokens] = await short.tokenEmbeddings([text], { onTruncate: (_i, n) => cut.push(n) });
    assert.deepEqual(tokens.tokens, ["[CLS]", "the", "quick", "brown", "fox", "[SEP]"]);
    assert.deepEqual(cut, [12]);
  });

  it("include_prompt false leaves the prompt (and the first token) out of the mean, as sentence-transformers masks it", async () => {
    const dir = overlayModel(MINILM, {
      "config_sentence_transformers.json": prompts,
      "1_Pooling/config.json": { word_embedding_dimension: H, pooling_mode_mean_tokens: true, include_prompt: false },
    });
    const encoder = await SentenceEncoder.load(dir);
    assert.equal(encoder.promptLength("The quick "), 3);
    const rows = hidden(1);
    assertClose(await encoder.embed(text, { promptName: "lead" }), normalize64(mean64(rows, 3)), 1e-4, "prompt excluded");
    // Without a prompt nothing is excluded.
    const g = loadGolden(`${MINILM}.json`).inputs[1];
    assertClose(await encoder.embed(g.input), g.outputs.base.pooled.mean_l2_normalized, 1e-4, "no prompt");
  });
});
