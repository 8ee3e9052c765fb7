/**
 * Hierarchical pooling pieces: combining part vectors (checked by hand-computed values), sentence
 * splitting (spans cover the text), and SentenceEncoder.embedSentences by construction: each
 * sentence's vector is that sentence embedded alone, the document vector their mean or
 * token-weighted mean, then normalised.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SentenceEncoder } from "../../src/pipelines/sentence-encoder.js";
import { combineParts, splitSentences } from "../../src/pooling/parts.js";
import { assertBitIdentical, assertClose } from "../helpers/assert.js";
import { modelPath, skipUnlessModel } from "../helpers/paths.js";

describe("combineParts", () => {
  const a = Float32Array.of(1, -2, 3);
  const b = Float32Array.of(3, 4, -1);
  it("mean, weighted by token counts, elementwise max", () => {
    assert.deepEqual(Array.from(combineParts([a, b], [10, 30], "mean")), [2, 1, 1]);
    assert.deepEqual(Array.from(combineParts([a, b], [10, 30], "weighted")), [2.5, 2.5, 0]);
    assert.deepEqual(Array.from(combineParts([a, b], [10, 30], "max")), [3, 4, 3]);
    assert.deepEqual(Array.from(combineParts([a], [7], "weighted")), [1, -2, 3]);
  });
  it("refuses an unknown mode, no parts, or counts that do not match", () => {
    assert.throws(() => combineParts([a, b], [1, 1], "median" as never), /Unknown part pooling "median"/);
    assert.throws(() => combineParts([], [], "mean"), /at least one part/);
    assert.throws(() => combineParts([a, b], [1], "weighted"), /Expected 2 token counts/);
  });
});

describe("splitSentences", () => {
  it("gives trimmed sentences whose spans cover every non-space character in order", () => {
    const text = "  Dr. Who arrived.\tDid he?\n\nHe did! 「日本語です。」 Fin";
    const parts = splitSentences(text, "en");
    let covered = 0;
    for (const p of parts) {
      assert.equal(text.slice(p.span[0], p.span[1]), p.text);
      assert.match(text.slice(covered, p.span[0]), /^\s*$/);
      assert.equal(p.text, p.text.trim());
      covered = p.span[1];
    }
    assert.equal(covered, text.length);
    assert.ok(parts.length >= 4);
  });
  it("keeps an empty or blank text as one part, and names a bad locale", () => {
    assert.deepEqual(splitSentences(""), [{ text: "", span: [0, 0] }]);
    assert.deepEqual(splitSentences("  \n"), [{ text: "  \n", span: [0, 3] }]);
    assert.throws(() => splitSentences("x", "en_US!!"), /Invalid locale "en_US!!"/);
  });
});

const MINILM = "minilm-l6-h384-random";
describe("SentenceEncoder.embedSentences", { skip: skipUnlessModel(MINILM) }, () => {
  it("embeds each sentence alone and pools them into the document vector", async () => {
    const encoder = await SentenceEncoder.load(modelPath(MINILM));
    const raw = await SentenceEncoder.load(modelPath(MINILM), { normalize: false });
    const docs = ["First things first. Then a much longer second sentence follows here! Third?", "One sentence only"];
    for (const sentencePooling of ["mean", "weighted"] as const) {
      const res = await encoder.embedSentences(docs, { locale: "en", sentencePooling });
      assert.deepEqual(res.map((r) => r.sentences), [["First things first.", "Then a much longer second sentence follows here!", "Third?"], ["One sentence only"]]);
      for (const [d, r] of res.entries()) {
        const alone = await encoder.embed(r.sentences);
        r.parts.forEach((p, k) => assertBitIdentical(p.embedding, alone[k], `doc ${d} sentence ${k}`));
        const rawAlone = await raw.embed(r.sentences);
        const counts = r.sentences.map((s) => encoder.tokenizer.encode(s).inputIds.length);
        assert.deepEqual(r.parts.map((p) => p.numTokens), counts);
        const w = counts.map((c) => (sentencePooling === "weighted" ? c : 1));
        const total = w.reduce((x, y) => x + y, 0);
        const want = rawAlone[0].map((_, c) => rawAlone.reduce((s, v, k) => s + (w[k] * v[c]) / total, 0));
        const n = Math.hypot(...want);
        assertClose(r.embedding, want.map((x) => x / n), 1e-6, `doc ${d} (${sentencePooling})`);
      }
    }
  });
});
