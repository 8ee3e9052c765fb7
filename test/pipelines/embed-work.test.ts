/**
 * Work the embedding loop leaves out (counts, not timings): with any pooling but "pooler", the
 * model's pooler (a dense layer + tanh per batch) is not run; with "pooler" it is.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { Activation, LinearParams } from "../../src/backend/backend.js";
import { ReferenceBackend } from "../../src/backend/reference.js";
import { BertModel } from "../../src/models/bert/model.js";
import { SentenceEncoder } from "../../src/pipelines/sentence-encoder.js";
import { modelPath, skipUnlessModel } from "../helpers/paths.js";

/** The reference backend, counting linear layers run with a tanh (only the pooler has one in BERT). */
class CountingBackend extends ReferenceBackend {
  tanhLayers = 0;
  override linear(x: Float32Array, rows: number, params: LinearParams, activation?: Activation, out?: Float32Array): Float32Array {
    if (activation === "tanh") this.tanhLayers++;
    return super.linear(x, rows, params, activation, out);
  }
}

const MINILM = "minilm-l6-h384-random";

describe("embedding work", { skip: skipUnlessModel(MINILM) }, () => {
  it("runs the pooler only for pooling \"pooler\"", async () => {
    const backend = new CountingBackend();
    const encoder = await SentenceEncoder.load(modelPath(MINILM), { backend });
    const texts = ["a short text", "another one, a little longer than the first", "third"];
    await encoder.embed(texts, { batchSize: 2 });
    await encoder.embed(texts, { batchSize: 2, pooling: "cls" });
    assert.equal(backend.tanhLayers, 0, "mean and cls pooling skip the pooler");
    await encoder.embed(texts, { batchSize: 2, pooling: "pooler" });
    assert.equal(backend.tanhLayers, 2, "one pooler pass per batch");
  });

  it("a forward pass told to skip the pooler says so when asked for its output", async () => {
    const model = await BertModel.fromPretrained(modelPath(MINILM), { backend: new ReferenceBackend() });
    const out = model.forward({ inputIds: [101, 7592, 102] }, { skipPooler: true });
    assert.equal(out.hasPoolerOutput, false);
    assert.throws(() => out.poolerOutput, /skip the pooler/);
    assert.equal(model.forward({ inputIds: [101, 7592, 102] }).hasPoolerOutput, true);
  });
});
