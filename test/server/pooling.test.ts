/**
 * The server with a chosen pooling (`serve --pooling cls_attention`): /embed gives the PyTorch
 * reference vectors of pooling-extra, and /explain the reference attention weights per token; with
 * the model's own pooling (mean), /explain gives the uniform share.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { RunningServer } from "../../src/server/app.js";
import { assertClose } from "../helpers/assert.js";
import { loadGolden, skipUnlessGolden } from "../helpers/paths.js";
import { post, skipUnlessServerModels, startTestServer } from "./helpers.js";

const GOLDEN = "pooling-extra/minilm-l6-h384-random.json";

describe("bert-ts serve --pooling cls_attention", { skip: skipUnlessServerModels() || skipUnlessGolden(GOLDEN) }, () => {
  let attention: RunningServer;
  let own: RunningServer;
  before(async () => {
    [attention, own] = await Promise.all([startTestServer({ classifier: undefined, pooling: "cls_attention" }), startTestServer({ classifier: undefined })]);
  });
  after(async () => {
    await attention?.close();
    await own?.close();
  });

  it("POST /embed gives the reference cls_attention vectors, unnormalised and normalised", async () => {
    const cases = loadGolden(GOLDEN).cls_attention.filter((c: any) => c.input_ids.length <= 256).slice(0, 8);
    const texts = cases.map((c: any) => c.input);
    const raw = await post(attention.url, "/embed", { inputs: texts, normalize: false });
    assert.equal(raw.status, 200, raw.text);
    const unit = await post(attention.url, "/embed", { inputs: texts });
    cases.forEach((c: any, k: number) => {
      assertClose(raw.json[k], c.pooled, 1e-4, `case ${k}`);
      const n = Math.hypot(...c.pooled);
      assertClose(unit.json[k], c.pooled.map((x: number) => x / n), 1e-4, `normalised case ${k}`);
    });
    const info: any = await fetch(attention.url + "/info").then((r) => r.json());
    assert.equal(info.model_type.embedding.pooling, "cls_attention");
  });

  it("POST /explain gives each token's attention weight, or mean's uniform share", async () => {
    const c = loadGolden(GOLDEN).cls_attention.find((x: any) => x.input_ids.length > 8 && x.input_ids.length < 64);
    const res = await post(attention.url, "/explain", { inputs: c.input });
    assert.equal(res.status, 200, res.text);
    assert.equal(res.json.pooling, "cls_attention");
    assert.equal(res.json.measure, "weight");
    assert.equal(res.json.tokens.length, c.input_ids.length);
    assert.equal(res.json.tokens[0], "[CLS]");
    assertClose(res.json.values, c.weights, 1e-4, "weights");

    const mean = await post(own.url, "/explain", { inputs: c.input });
    assert.equal(mean.json.pooling, "mean");
    assert.deepEqual(mean.json.values.map((v: number) => Math.round(v * c.input_ids.length * 1e6) / 1e6), new Array(c.input_ids.length).fill(1));

    const bad = await post(own.url, "/explain", { inputs: ["a", "b"] });
    assert.equal(bad.status, 422, bad.text);
    const long = await post(own.url, "/explain", { inputs: "word ".repeat(600) });
    assert.equal(long.status, 413, long.text);
    const cut = await post(own.url, "/explain", { inputs: "word ".repeat(600), truncate: true });
    assert.equal(cut.json.tokens.length, 256);
  });
});
