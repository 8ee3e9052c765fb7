/**
 * int8 and bf16 against float32, measured: every model folder in ../shared/models that the registry
 * loads, on the golden reference inputs. Bounds (issue 15): pooled vectors int8 mean cosine >= 0.999
 * and min >= 0.99, bf16 mean >= 0.9999; argmax agreement of every head the checkpoint has >= 99% on
 * the rows float32 decides (top two logits at least 5% of the head's logit RMS apart: these random-weight
 * checkpoints have many near-ties, which any rounding flips; all-row agreement is printed by the bench).
 * These are accuracy bounds, not timings. `npm run bench` prints the same figures on the corpus.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it, before } from "node:test";
import type { Dtype } from "../../src/backend/backend.js";
import { headForModel, tasksForConfig, type HeadTask } from "../../src/heads/index.js";
import { BertModel } from "../../src/models/bert/model.js";
import { familyFor } from "../../src/models/registry.js";
import { pool } from "../../src/pooling/pool.js";
import type { ModelInput } from "../../src/tokenizers/encoding.js";
import { GOLDEN_DIR, MODELS_DIR, loadGolden } from "../helpers/paths.js";
import { skipNative } from "../backend/native-helpers.js";
import { argmax, argmaxAgreement, cosineStats, decidedRows, headLogitRows } from "../../bench/lowp-accuracy.js";

const BOUNDS: Record<Exclude<Dtype, "float32">, { meanCos: number; minCos: number; agreement: number }> = {
  int8: { meanCos: 0.999, minCos: 0.99, agreement: 0.99 },
  bf16: { meanCos: 0.9999, minCos: 0.999, agreement: 0.99 },
};

/** Model folders with golden inputs whose model_type the registry supports. */
function loadableModels(): string[] {
  if (!existsSync(MODELS_DIR) || !existsSync(GOLDEN_DIR)) return [];
  return readdirSync(MODELS_DIR).filter((name) => {
    const config = join(MODELS_DIR, name, "config.json");
    if (!existsSync(config) || !existsSync(join(GOLDEN_DIR, `${name}.json`))) return false;
    try {
      familyFor((JSON.parse(readFileSync(config, "utf8")) as { model_type: string }).model_type);
      return true;
    } catch {
      return false;
    }
  });
}

const models = loadableModels();

describe("int8 / bf16 accuracy against float32", { skip: skipNative || (models.length === 0 && "no shared models or golden files") }, () => {
  it("covers the registry's model folders", () => assert.ok(models.length >= 5, `only ${models.length} loadable models`));
  for (const name of models) {
    describe(name, () => {
      let inputs: ModelInput[];
      const loaded = new Map<Dtype, BertModel>();
      before(async () => {
        const g = loadGolden(`${name}.json`) as { inputs: { input_ids: number[]; token_type_ids?: number[] | null }[] };
        inputs = g.inputs.map((i) => ({ inputIds: i.input_ids, tokenTypeIds: i.token_type_ids ?? undefined }));
        for (const dtype of ["float32", "int8", "bf16"] as const) loaded.set(dtype, await BertModel.fromPretrained(join(MODELS_DIR, name), { dtype }));
      });

      for (const dtype of ["int8", "bf16"] as const) {
        it(`${dtype}: pooled vectors (mean, cls) and head argmax`, () => {
          const f32 = loaded.get("float32")!;
          const low = loaded.get(dtype)!;
          const bound = BOUNDS[dtype];
          const L = f32.config.num_hidden_layers;
          const a = f32.forward(inputs);
          const b = low.forward(inputs);
          for (const strategy of ["mean", "cls"] as const) {
            const s = cosineStats(pool(a, { strategy, normalize: false }, L), pool(b, { strategy, normalize: false }, L));
            assert.ok(s.mean >= bound.meanCos, `${name} ${dtype} ${strategy}: mean cosine ${s.mean.toFixed(6)} < ${bound.meanCos}`);
            assert.ok(s.min >= bound.minCos, `${name} ${dtype} ${strategy}: min cosine ${s.min.toFixed(6)} < ${bound.minCos}`);
          }
          for (const task of tasksForConfig(f32.config) as HeadTask[]) {
            const ref = headLogitRows(headForModel(task, f32), task, inputs);
            const got = headLogitRows(headForModel(task, low), task, inputs);
            const keep = decidedRows(ref);
            const pick = (rows: Float32Array[]) => rows.filter((_, i) => keep[i]).map(argmax);
            const agree = argmaxAgreement(pick(ref), pick(got));
            assert.ok(agree.total >= ref.length / 2, `${name} ${task}: only ${agree.total} of ${ref.length} rows decided`);
            assert.ok(agree.rate >= bound.agreement, `${name} ${dtype} ${task}: argmax agreement ${agree.same}/${agree.total}`);
          }
        });
      }
    });
  }
});
