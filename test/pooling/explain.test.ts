/**
 * explainPooling's numbers are the pooling's own: for every weighted strategy, Σ_t value_t · h_t
 * gives the pooled vector (pool() is held against PyTorch elsewhere); for max, each token's count
 * of dimensions where the pooled value is its own.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { BertModel } from "../../src/models/bert/model.js";
import { explainPooling } from "../../src/pooling/explain.js";
import { forwardOptionsFor, pool } from "../../src/pooling/pool.js";
import type { PoolingStrategy } from "../../src/pooling/strategies.js";
import { loadTokenizer } from "../../src/tokenizers/index.js";
import { assertClose } from "../helpers/assert.js";
import { modelPath, skipUnlessModel } from "../helpers/paths.js";

const MINILM = "minilm-l6-h384-random";

describe("explainPooling", { skip: skipUnlessModel(MINILM) }, () => {
  it("weights reproduce the pooled vector; max's counts name the token each dimension comes from", async () => {
    const [model, tokenizer] = await Promise.all([BertModel.fromPretrained(modelPath(MINILM)), loadTokenizer(modelPath(MINILM))]);
    const enc = tokenizer.encode("What does the pooling layer look at, token by token?");
    const h = model.config.hidden_size;
    const strategies: PoolingStrategy[] = ["cls_attention", "mean", "mean_sqrt_len", "weighted_mean", "cls", "last", "max"];
    for (const strategy of strategies) {
      const out = model.forward(enc, forwardOptionsFor({ strategy }));
      const [pooled] = pool(out, { strategy }, model.config.num_hidden_layers);
      const e = explainPooling(out, 0, strategy, model.config.num_hidden_layers);
      const tokens = out.sequence(0).data;
      assert.equal(e.values.length, enc.inputIds.length);
      if (strategy === "max") {
        assert.equal(e.measure, "dimensions_won");
        const won = new Array(e.values.length).fill(0);
        for (let c = 0; c < h; c++) {
          // The first token holding the maximum (ties go to the earliest, as torch.max does).
          const t = e.values.findIndex((_, k) => tokens[k * h + c] === pooled[c]);
          assert.ok(t >= 0, `dimension ${c}: the max is some token's value`);
          won[t]++;
        }
        assert.deepEqual(e.values, won);
        continue;
      }
      assert.equal(e.measure, "weight");
      const rebuilt = Float32Array.from({ length: h }, (_, c) => e.values.reduce((s, w, t) => s + w * tokens[t * h + c], 0));
      assertClose(rebuilt, pooled, 1e-5, strategy);
    }
    assert.throws(() => explainPooling(model.forward(enc), 0, "none", 6), /nothing to explain/);
  });
});
