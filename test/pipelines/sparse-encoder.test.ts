/** SPLADE vectors against PyTorch (BertForMaskedLM logits → max over tokens of log1p(relu)), compared as dense vectors. */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { getBackend } from "../../src/backend/index.js";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { SparseEncoder } from "../../src/pipelines/sparse-encoder.js";
import { denseToSparse, sparseDot, sparseToDense } from "../../src/pooling/sparse.js";
import { SentenceEncoder } from "../../src/pipelines/sentence-encoder.js";
import { assertClose } from "../helpers/assert.js";
import { overlayModel } from "../helpers/overlay.js";
import { loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const SPLADE = "bert-micro-splade-random";

function goldenDense(ref: { indices: number[]; values: number[] }, vocab: number): Float32Array {
  const out = new Float32Array(vocab);
  ref.indices.forEach((id, k) => (out[id] = ref.values[k]));
  return out;
}

describe("SparseEncoder (SPLADE)", { skip: skipUnlessModel(SPLADE) || skipUnlessGolden(`${SPLADE}.json`) }, () => {
  const singles = () => (loadGolden(`${SPLADE}.json`).inputs as any[]).filter((x) => typeof x.input === "string");

  for (const backend of ["default", "reference"] as const) {
    it(`matches PyTorch on every single-text input, 512-token ones included (${backend} backend)`, async () => {
      const encoder = await SparseEncoder.load(modelPath(SPLADE), { backend: backend === "reference" ? new ReferenceBackend() : getBackend() });
      const inputs = singles();
      const truncated: number[] = [];
      const vectors = await encoder.embed(inputs.map((x) => x.input), { batchSize: 7, onTruncate: (i) => truncated.push(i) });
      assert.deepEqual(truncated, inputs.flatMap((x, i) => (x.truncated ? [i] : [])));
      assert.ok(truncated.length > 0, "the golden set has inputs over 512 tokens");
      vectors.forEach((v, i) => {
        const ref = inputs[i].outputs.splade.splade;
        for (let k = 1; k < v.indices.length; k++) assert.ok(v.indices[k] > v.indices[k - 1], "indices ascending");
        assert.ok(v.values.every((x) => x > 0));
        assertClose(sparseToDense(v), goldenDense(ref, encoder.dimension), 1e-4, `input ${i} as dense`);
        // Index sets may differ only in entries of a few 1e-6 (logits at the edge of 0).
        assert.ok(Math.abs(v.indices.length - ref.nnz) <= Math.max(3, ref.nnz * 0.002), `input ${i}: nnz ${v.indices.length} vs ${ref.nnz}`);
      });
    });
  }

  it("topK keeps the largest weights (max_active_dims) in ascending id order, and token strings come on request", async () => {
    const encoder = await SparseEncoder.load(modelPath(SPLADE));
    const x = singles()[3];
    const [v] = await encoder.embed([x.input], { topK: 10 });
    assert.equal(v.indices.length, 10);
    const ref = x.outputs.splade.splade;
    assert.deepEqual([...v.indices], [...ref.top10_ids].sort((a: number, b: number) => a - b));
    assert.deepEqual(encoder.tokens(v), [...v.indices].map((id) => ref.top10_tokens[ref.top10_ids.indexOf(id)]));
  });

  it("sparse dot equals the dense dot product", async () => {
    const encoder = await SparseEncoder.load(modelPath(SPLADE));
    const [a, b] = await encoder.embed([singles()[1].input, singles()[2].input]);
    const [da, db] = [sparseToDense(a), sparseToDense(b)];
    let dense = 0;
    for (let i = 0; i < da.length; i++) dense += da[i] * db[i];
    assertClose([sparseDot(a, b)], [dense], 1e-6 * Math.abs(dense), "dot");
    assert.deepEqual(denseToSparse(Float32Array.of(0, 3, 0, 1, 2), 2), { indices: Int32Array.of(1, 4), values: Float32Array.of(3, 2), dimension: 5 });
  });

  it("reads a sentence-transformers SparseEncoder folder (MLMTransformer + SpladePooling max/relu) and refuses what it does not compute", async () => {
    const modules = [
      { idx: 0, name: "0", path: "", type: "sentence_transformers.sparse_encoder.models.MLMTransformer" },
      { idx: 1, name: "1", path: "1_SpladePooling", type: "sentence_transformers.sparse_encoder.models.SpladePooling" },
    ];
    const pooling = { pooling_strategy: "max", activation_function: "relu", word_embedding_dimension: 30522 };
    const x = singles()[1];
    const ok = await SparseEncoder.load(overlayModel(SPLADE, { "modules.json": modules, "1_SpladePooling/config.json": pooling }));
    const [v] = await ok.embed([x.input]);
    assertClose(sparseToDense(v), goldenDense(x.outputs.splade.splade, ok.dimension), 1e-4, "ST folder");
    const sum = overlayModel(SPLADE, { "modules.json": modules, "1_SpladePooling/config.json": { ...pooling, pooling_strategy: "sum" } });
    await assert.rejects(SparseEncoder.load(sum), /SpladePooling pooling_strategy "sum" is not supported/);
    const dense = overlayModel(SPLADE, { "modules.json": modules, "1_SpladePooling/config.json": pooling });
    await assert.rejects(SentenceEncoder.load(dense), /module sentence_transformers\.sparse_encoder\.models\.MLMTransformer is not supported .*use SparseEncoder or --pooling splade/);
  });
});
