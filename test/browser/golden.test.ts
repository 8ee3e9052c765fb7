/**
 * The browser bundle in real Chromium against PyTorch (../shared/golden), with the checks running
 * inside the page: token ids exact, hidden states / pooled vectors / head logits within 1e-4,
 * batch invariance; SentenceEncoder.load from a URL (Cache API on the second load) and from File
 * objects; the Worker API.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import type { Page } from "playwright-core";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { ROOT, skipReason, startRig, type BrowserRig } from "./helpers.js";

const TOL = 1e-4;
/** npm test builds the kernels when emscripten is installed (.ci/run installs it): then the page must run on them. */
const WASM_BUILT = existsSync(join(ROOT, "wasm", "bert-ts-kernels.wasm"));

describe("browser bundle in Chromium", { skip: skipReason() }, () => {
  let rig: BrowserRig;
  let page: Page;
  const problems: string[] = [];

  before(async () => {
    rig = await startRig({ "/dist/browser/": join(ROOT, "dist", "browser"), "/examples/": join(ROOT, "examples") });
    page = await rig.browser.newPage();
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    await page.goto(`${rig.server.url}/page/`);
    await page.waitForFunction(() => (globalThis as any).ready === true);
  });
  after(async () => {
    await rig?.close();
  });

  // On the TypeScript reference backend the two 512-token MiniLM inputs alone take minutes: those
  // run where the kernels are fast (the WASM backend, when the bundle has it).
  const golden = (model: string, head?: string) => page.evaluate(
    async ([m, h]) => {
      const c = (globalThis as any).checks;
      const slow = (await c.bt.defaultBackendReady()).name === "reference";
      return c.goldenCheck(`/models/${m}`, `/golden/${m}.json`, { head: h, maxTokens: slow ? 64 : Infinity });
    },
    [model, head] as const,
  );

  for (const [model, head] of [["minilm-l6-h384-random"], ["roberta-micro-random"], ["bert-micro-seqcls-random", "seqcls"]] as const) {
    it(`${model}: golden token ids, hidden states, pooled vectors${head ? ", head logits" : ""}; batch invariance`, { timeout: 20 * 60_000 }, async () => {
      const r = await golden(model, head);
      if (WASM_BUILT) assert.match(r.backend, /^wasm simd128/);
      assert.ok(r.inputs >= (r.backend === "reference" ? 23 : 25), `${r.inputs} inputs checked`);
      assert.deepEqual(r.tokenMismatches, []);
      assert.ok(r.maxDiff.hidden <= TOL, `last_hidden_state differs by ${r.maxDiff.hidden}`);
      assert.ok(r.maxDiff.pooler <= TOL, `pooler_output differs by ${r.maxDiff.pooler}`);
      assert.ok(r.checked.pooled >= r.inputs * 7 && r.maxDiff.pooled <= TOL, `pooled vectors differ by ${r.maxDiff.pooled}`);
      if (head) assert.ok(r.checked.logits === r.inputs && r.maxDiff.logits <= TOL, `logits differ by ${r.maxDiff.logits}`);
      assert.deepEqual(r.batchNotIdentical, []);
      assert.deepEqual(problems, []);
    });
  }

  it("SentenceEncoder.load(url): matches the golden vectors; the second load comes from the Cache API", { timeout: 10 * 60_000 }, async () => {
    const model = "minilm-l6-h384-random";
    await page.evaluate(() => (globalThis as any).checks.clearCache());
    const before = rig.server.requests.length;
    const first = await page.evaluate(([m]) => (globalThis as any).checks.encoderCheck(`/models/${m}`, `/golden/${m}.json`), [model] as const);
    const fetched = rig.server.requests.slice(before).filter((p) => p.startsWith(`/models/${model}/`));
    assert.ok(fetched.includes(`/models/${model}/model.safetensors`) && fetched.includes(`/models/${model}/tokenizer.json`), fetched.join(" "));
    assert.ok(!fetched.some((p) => p.includes("/onnx/")), "the ONNX export is not downloaded");
    assert.equal(first.pooling, "mean");
    assert.equal(first.normalize, true);
    assert.ok(first.compared >= 8 && first.maxDiff <= TOL, `embeddings differ by ${first.maxDiff}`);
    assert.ok(first.downloads.some((d: any) => d.file === "model.safetensors" && !d.cached && d.loaded > 1e6));

    // A fresh page (same browser profile): every file, present or absent, comes from the cache.
    const page2 = await rig.browser.newPage();
    await page2.goto(`${rig.server.url}/page/`);
    await page2.waitForFunction(() => (globalThis as any).ready === true);
    const mark = rig.server.requests.length;
    const second = await page2.evaluate(([m]) => (globalThis as any).checks.encoderCheck(`/models/${m}`, `/golden/${m}.json`), [model] as const);
    const refetched = rig.server.requests.slice(mark).filter((p) => p.startsWith(`/models/${model}/`));
    assert.deepEqual(refetched, []);
    assert.ok(second.downloads.some((d: any) => d.file === "model.safetensors" && d.cached));
    assert.ok(second.maxDiff <= TOL);
    const keys: string[] = await page2.evaluate(() => (globalThis as any).checks.cachedKeys());
    assert.ok(keys.some((k) => k.endsWith(`/models/${model}/model.safetensors`)));
    await page2.close();
  });

  it("SentenceEncoder.load(File[]): a folder input's files, paths from webkitRelativePath", { timeout: 10 * 60_000 }, async () => {
    const model = "roberta-micro-random";
    const names = ["config.json", "model.safetensors", "tokenizer.json", "vocab.json", "merges.txt", "special_tokens_map.json", "tokenizer_config.json"];
    const r = await page.evaluate(async ([m, files]) => {
      const c = (globalThis as any).checks;
      const list = await c.filesFromUrl(`/models/${m}`, files, m);
      const encoder = await c.bt.SentenceEncoder.load(list);
      const g: any = await (await fetch(`/golden/${m}.json`)).json();
      const inp = g.inputs[0];
      const [v] = await encoder.embed([inp.input], { pooling: "mean", normalize: false });
      let d = 0;
      for (let i = 0; i < v.length; i++) d = Math.max(d, Math.abs(v[i] - inp.outputs.base.pooled.mean[i]));
      return { dir: encoder.modelDir, maxDiff: d, length: v.length };
    }, [model, names] as const);
    assert.equal(r.dir, `files://${model}`);
    assert.equal(r.length, 64);
    assert.ok(r.maxDiff <= TOL, `mean pooling differs by ${r.maxDiff}`);
  });

  it("the example page loads a model by URL and draws one heatmap per pooling", { timeout: 10 * 60_000 }, async () => {
    const example = await rig.browser.newPage();
    const errors: string[] = [];
    example.on("pageerror", (e) => errors.push(e.message));
    await example.goto(`${rig.server.url}/examples/browser/`);
    await example.fill("#url", "/models/minilm-l6-h384-random");
    await example.click("#load-url");
    await example.waitForFunction(() => !(globalThis as any).document.getElementById("embed").disabled, undefined, { timeout: 5 * 60_000 });
    await example.click("#embed");
    await example.waitForFunction(() => (globalThis as any).document.querySelectorAll("#maps canvas").length === 3, undefined, { timeout: 5 * 60_000 });
    const captions = await example.$$eval("#maps figcaption", (els) => els.map((e) => e.textContent));
    // The model's own pooling (mean, from its sentence-transformers config), then the others.
    assert.deepEqual(captions, ["mean (the model's own)", "cls", "max"]);
    assert.match((await example.textContent("#status")) ?? "", /5 sentences × 3 poolings/);
    assert.deepEqual(errors, []);
    await example.close();
  });

  it("WorkerSentenceEncoder: embeds off the main thread, same vectors", { timeout: 10 * 60_000 }, async () => {
    const model = "minilm-l6-h384-random";
    const r = await page.evaluate(([m]) => (globalThis as any).checks.workerCheck(`/models/${m}`, `/golden/${m}.json`), [model] as const);
    assert.ok(r.compared >= 40 && r.maxDiff <= TOL, `worker embeddings differ by ${r.maxDiff}`);
    // The main thread kept running its timers while the worker computed.
    assert.ok(r.ticks > 0, "main-thread timer never ran during embed");
  });
});
