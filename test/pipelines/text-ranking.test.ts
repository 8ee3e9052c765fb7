/** The text-ranking pipeline against PyTorch (BertForSequenceClassification, one logit) and CrossEncoder's activation rule. */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { pipeline } from "../../src/pipelines/index.js";
import { crossEncoderActivation } from "../../src/pipelines/text-ranking.js";
import { assertClose } from "../helpers/assert.js";
import { overlayModel } from "../helpers/overlay.js";
import { loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const CE = "bert-micro-cross-encoder-random";

describe("text-ranking pipeline", { skip: skipUnlessModel(CE) || skipUnlessGolden(`${CE}.json`) }, () => {
  const inputs = () => loadGolden(`${CE}.json`).inputs as any[];

  it("scores every [query, passage] pair as PyTorch: logit and sigmoid, long passages truncated and reported", async () => {
    const ranker = await pipeline("text-ranking", modelPath(CE), { batchSize: 5 });
    assert.equal(ranker.activation, "sigmoid");
    const pairs = inputs().map((x) => x.input as [string, string]);
    const raw = await ranker.scorePairs(pairs, { rawScores: true });
    const scores = await ranker.scorePairs(pairs);
    assertClose(raw.map((r) => r.score), inputs().map((x) => x.outputs.rerank.score), 1e-4, "logits");
    assertClose(scores.map((r) => r.score), inputs().map((x) => x.outputs.rerank.sigmoid), 1e-4, "sigmoid");
    scores.forEach((s, i) => assert.equal(s.numTruncatedTokens, inputs()[i].num_tokens_untruncated - inputs()[i].num_tokens, `pair ${i} truncation`));
    assert.ok(scores.some((s) => s.numTruncatedTokens > 0), "the golden set holds an over-long passage");
  });

  it("ranks passages for one query best first, with index, text on request and topK", async () => {
    const ranker = await pipeline("text-ranking", modelPath(CE));
    const berlin = inputs().filter((x) => x.input[0] === "how many people live in berlin?");
    const passages = ["an unrelated passage about tea", ...berlin.map((x) => x.input[1])];
    const ranked = await ranker(berlin[0].input[0], passages, { returnText: true });
    assert.equal(ranked.length, passages.length);
    for (let k = 1; k < ranked.length; k++) assert.ok(ranked[k - 1].score >= ranked[k].score);
    for (const r of ranked) {
      assert.equal(r.text, passages[r.index]);
      const ref = berlin.find((x) => x.input[1] === r.text);
      if (ref) assertClose([r.score], [ref.outputs.rerank.sigmoid], 1e-4, `passage ${r.index}`);
    }
    const top = await ranker(berlin[0].input[0], passages, { topK: 1 });
    assert.deepEqual(top.map((r) => r.index), [ranked[0].index]);
    assert.equal(top[0].text, undefined);
  });

  it("a query longer than the model still scores (cut longest_first) and is reported", async () => {
    const ranker = await pipeline("text-ranking", modelPath(CE));
    const [r] = await ranker.scorePairs([["word ".repeat(600), "short passage"]]);
    assert.ok(Number.isFinite(r.score));
    assert.ok(r.numTruncatedTokens > 0);
  });

  it("follows the CrossEncoder config's activation and refuses unknown ones by name", async () => {
    const config = JSON.parse(readFileSync(modelPath(CE) + "/config.json", "utf8"));
    const identity = overlayModel(CE, { "config.json": { ...config, sentence_transformers: { activation_fn: "torch.nn.modules.linear.Identity", version: "4.0.1" } } });
    const ranker = await pipeline("text-ranking", identity);
    assert.equal(ranker.activation, "identity");
    const [s] = await ranker.scorePairs([inputs()[0].input]);
    assertClose([s.score], [inputs()[0].outputs.rerank.score], 1e-4, "identity score = logit");
    assert.equal(crossEncoderActivation({ sbert_ce_default_activation_function: "torch.nn.modules.activation.Tanh" }, 1, "x"), "tanh");
    assert.equal(crossEncoderActivation({}, 3, "x"), "identity");
    const bad = overlayModel(CE, { "config.json": { ...config, sentence_transformers: { activation_fn: "my.module.Swish" } } });
    await assert.rejects(pipeline("text-ranking", bad), /unsupported CrossEncoder activation "my\.module\.Swish"/);
  });

  it("refuses a classifier with several labels and bad pairs", { skip: skipUnlessModel("bert-micro-seqcls-random") }, async () => {
    await assert.rejects(pipeline("text-ranking", modelPath("bert-micro-seqcls-random")), /has 3 labels; reranking needs a cross-encoder with one output/);
    const ranker = await pipeline("text-ranking", modelPath(CE));
    await assert.rejects(ranker.scorePairs([["only one"] as unknown as [string, string]]), /Expected a \[query, passage\] pair of strings for pair 0/);
  });
});
