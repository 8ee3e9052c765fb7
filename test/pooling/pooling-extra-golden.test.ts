/**
 * Pooling beyond the classic strategies against PyTorch (../shared/golden/pooling-extra, written by
 * ../shared/reference/pooling_extra.py): "cls_attention" weights and vectors, and long documents
 * as windows (ids exactly, each window's mean vector, the document's mean / weighted / max), on
 * both backends, unnormalised and normalised.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import type { Backend } from "../../src/backend/backend.js";
import { tryLoadNativeBackend } from "../../src/backend/native.js";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { SentenceEncoder } from "../../src/pipelines/sentence-encoder.js";
import { clsAttentionWeights } from "../../src/pooling/strategies.js";
import { assertBitIdentical, assertClose } from "../helpers/assert.js";
import { loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const MINILM = "minilm-l6-h384-random";
const GOLDEN = "pooling-extra/minilm-l6-h384-random.json";
const skip = skipUnlessModel(MINILM) || skipUnlessGolden(GOLDEN);
const native = tryLoadNativeBackend();
const DOC_KEYS = { mean: "doc_mean", weighted: "doc_weighted", max: "doc_max" } as const;

function normalized(v: number[]): number[] {
  const n = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
  return v.map((x) => x / n);
}

const backends: [string, () => Backend, string | false][] = [
  ["reference", () => new ReferenceBackend(), false],
  ["native", () => native.backend!, native.backend ? false : `native backend unavailable: ${native.reason}`],
];

for (const [name, makeBackend, skipBackend] of backends) {
  describe(`pooling-extra references, ${name} backend`, { skip: skip || skipBackend }, () => {
    let g: any;
    before(() => (g = loadGolden(GOLDEN)));

    it("cls_attention: weights (last layer, first-token row, mean over heads) and pooled vectors", async () => {
      const backend = makeBackend();
      const raw = await SentenceEncoder.load(modelPath(MINILM), { pooling: "cls_attention", normalize: false, maxLength: 512, backend });
      const unit = await SentenceEncoder.load(modelPath(MINILM), { pooling: "cls_attention", normalize: true, maxLength: 512, backend });
      // The reference backend is plain TypeScript: it runs the shorter texts only.
      const cases: any[] = g.cls_attention.filter((c: any) => name === "native" || c.input_ids.length <= 48);
      assert.ok(cases.length >= (name === "native" ? 15 : 8));
      const pooled = await raw.embed(cases.map((c) => c.input));
      const pooledUnit = await unit.embed(cases.map((c) => c.input));
      for (const [k, c] of cases.entries()) {
        const enc = raw.tokenizer.encode(c.input, undefined, { truncation: true, maxLength: 512 });
        assert.deepEqual(enc.inputIds, c.input_ids, `ids of input ${k}`);
        const out = raw.model.forward(enc, { outputFirstTokenAttention: true });
        assertClose(clsAttentionWeights(out.firstTokenAttention(0).data, out.length(0)), c.weights, 1e-4, `weights ${k}`);
        assertClose(pooled[k], c.pooled, 1e-4, `pooled ${k}`);
        assertClose(pooledUnit[k], normalized(c.pooled), 1e-4, `normalised ${k}`);
      }
    });

    it("windows at max_length 128, stride 32: ids exactly, window vectors, doc_mean / doc_weighted / doc_max", async () => {
      const backend = makeBackend();
      const raw = await SentenceEncoder.load(modelPath(MINILM), { maxLength: 128, normalize: false, backend });
      const unit = await SentenceEncoder.load(modelPath(MINILM), { maxLength: 128, backend });
      assert.equal(raw.pooling, "mean");
      assert.equal(unit.normalize, true);
      // The reference backend is plain TypeScript: it runs the shortest document, weighted only.
      const docs: any[] = name === "reference" ? [g.windows.reduce((a: any, b: any) => (a.window_ids.length <= b.window_ids.length ? a : b))] : g.windows;
      const modes = name === "reference" ? (["weighted"] as const) : (["mean", "weighted", "max"] as const);
      for (const [k, doc] of docs.entries()) {
        const chunk = { longInputs: "chunk", chunkStride: 32 } as const;
        assert.deepEqual(raw.windows(doc.input, chunk).map((w) => w.inputIds), doc.window_ids, `window ids of document ${k}`);
        for (const mode of modes) {
          const [res] = await raw.embedWithWindows([doc.input], { ...chunk, windowPooling: mode });
          assertClose(res.embedding, doc[DOC_KEYS[mode]], 1e-4, `document ${k} ${mode}`);
          assert.deepEqual(res.parts.map((p) => p.numTokens), doc.window_ids.map((w: number[]) => w.length));
          res.parts.forEach((p, w) => assertClose(p.embedding, doc.window_vectors[w], 1e-4, `document ${k} window ${w}`));
          if (name === "reference") continue;
          const normalisedDoc = await unit.embed(doc.input, { ...chunk, windowPooling: mode });
          assertClose(normalisedDoc, normalized(doc[DOC_KEYS[mode]]), 1e-4, `document ${k} ${mode} normalised`);
        }
      }
    });

    it("cls_attention vectors are bit-identical alone or in a batch, and read the last layer only", async () => {
      const backend = makeBackend();
      const encoder = await SentenceEncoder.load(modelPath(MINILM), { pooling: "cls_attention", backend });
      const texts = ["A short one.", "Another, slightly longer text to embed with attention weights.", "x"];
      const batch = await encoder.embed(texts);
      for (const [k, t] of texts.entries()) assertBitIdentical(await encoder.embed(t), batch[k], `text ${k}`);
      await assert.rejects(SentenceEncoder.load(modelPath(MINILM), { pooling: "cls_attention", layers: { kind: "first_last_avg" }, backend }), /reads the last layer only/);
    });
  });
}
