/**
 * The built-in page in a real browser: headless Chromium (Debian's package, driven by
 * playwright-core) opens /, asks for the API key, embeds the sentences typed in and draws their
 * cosine-similarity matrix as a coloured heatmap whose numbers equal those computed from /embed;
 * for a typed text it draws each token's cls_attention weight (the PyTorch reference's) as a bar.
 * Without Chromium the test is skipped locally (with the reason) and fails in CI.
 */
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { chromium, type BrowserContext } from "playwright-core";
import type { RunningServer } from "../../src/server/app.js";
import { assertClose } from "../helpers/assert.js";
import { loadGolden, skipUnlessGolden } from "../helpers/paths.js";
import { post, skipUnlessServerModels, startTestServer } from "./helpers.js";

const CHROMIUM = process.env.BERT_TS_CHROMIUM ?? "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const KEY = "page-key";
const EXTRA = "pooling-extra/minilm-l6-h384-random.json";

function skipReason(): string | false {
  const models = skipUnlessServerModels() || skipUnlessGolden(EXTRA);
  if (models) return models;
  if (existsSync(CHROMIUM)) return false;
  if (process.env.CI) throw new Error(`Chromium not found at ${CHROMIUM}; .ci/run installs Debian's chromium package`);
  return `Chromium not found at ${CHROMIUM} (apt-get install -y chromium)`;
}

describe("bert-ts serve: similarity page", { skip: skipReason() }, () => {
  let server: RunningServer;
  let browser: BrowserContext;
  let profile: string;

  before(async () => {
    profile = mkdtempSync(join(tmpdir(), "bert-ts-chromium-"));
    [server, browser] = await Promise.all([
      startTestServer({ classifier: undefined, apiKey: KEY, pooling: "cls_attention" }),
      chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: ARGS }),
    ]);
  });
  after(async () => {
    await browser?.close();
    await server?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  it("draws the cosine-similarity heatmap of the typed sentences", async () => {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("console", (m) => m.type() === "error" && !/401/.test(m.text()) && problems.push(`console: ${m.text()}`));
    await page.setViewportSize({ width: 1000, height: 720 });
    await page.goto(server.url + "/");

    // The server wants a key: the page asks for it.
    await page.locator("#keybox").waitFor({ state: "visible" });
    await page.fill("#key", KEY);
    await page.click("#savekey");
    await page.locator("#heatmap td.cell").first().waitFor();

    const sentences = ["A man is playing a guitar.", "Someone plays an instrument.", "The cat sleeps on the sofa.", "Stock markets fell sharply today."];
    await page.fill("#sentences", sentences.join("\n"));
    await page.click("#go");
    // Functions, not strings: the page's CSP forbids eval. No DOM types in this project, hence `any`.
    await page.waitForFunction(() => (globalThis as any).document.getElementById("status").textContent.startsWith("4×4"));

    const cells: { value: number; color: string }[] = await page.evaluate(() => {
      const w = globalThis as any;
      return [...w.document.querySelectorAll("#heatmap td.cell")].map((td: any) => ({ value: Number(td.dataset.value), color: w.getComputedStyle(td).backgroundColor }));
    });
    assert.equal(cells.length, 16);
    const vectors = (await post(server.url, "/embed", { inputs: sentences, truncate: true }, { authorization: `Bearer ${KEY}` })).json as number[][];
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) {
        const expected = vectors[i].reduce((s, x, k) => s + x * vectors[j][k], 0);
        assert.ok(Math.abs(cells[i * 4 + j].value - expected) < 1e-9, `cell ${i},${j}: ${cells[i * 4 + j].value} vs ${expected}`);
      }
      assert.ok(Math.abs(cells[i * 5].value - 1) < 1e-6, "a sentence is its own closest match");
    }
    assert.ok(new Set(cells.map((c) => c.color)).size > 1, "cells are coloured by value");
    // The palette spans the pairs (off the diagonal): the least similar pair gets its first stop,
    // the most similar its last; a sentence with itself is grey.
    const offDiagonal = cells.filter((_, k) => Math.floor(k / 4) !== k % 4);
    const lowest = offDiagonal.reduce((a, b) => (b.value < a.value ? b : a));
    const highest = offDiagonal.reduce((a, b) => (b.value > a.value ? b : a));
    assert.equal(lowest.color, "rgb(247, 251, 255)");
    assert.equal(highest.color, "rgb(8, 48, 107)");
    for (let i = 0; i < 4; i++) assert.equal(cells[i * 5].color, "rgb(228, 231, 235)", `diagonal ${i} is grey`);
    assert.equal(await page.textContent("#lo"), lowest.value.toFixed(2));
    assert.equal(await page.textContent("#hi"), highest.value.toFixed(2));
    assert.match(await page.textContent("#model") ?? "", /minilm-l6-h384-random/);
    // A test checkpoint says so, as the CLI does.
    assert.ok(await page.isVisible("#random"));
    assert.match((await page.textContent("#random")) ?? "", /minilm-l6-h384-random holds seeded RANDOM weights/);
    const links: string[] = await page.evaluate(() => [...(globalThis as any).document.querySelectorAll("#api a")].map((a: any) => a.href));
    assert.deepEqual(links, ["info", "health", "ready", "metrics", "v1/models"].map((r) => `${server.url}/${r}`));

    const shot = process.env.BERT_TS_PAGE_SCREENSHOT ?? join(profile, "page.png");
    await page.screenshot({ path: shot, fullPage: true });
    assert.deepEqual(problems, []);
  });

  it("draws each token of a typed text with a bar for its cls_attention weight", async () => {
    const c = loadGolden(EXTRA).cls_attention.find((x: any) => x.input_ids.length > 8 && x.input_ids.length < 40);
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    await page.goto(server.url + "/");
    await page.locator("#keybox").waitFor({ state: "visible" });
    await page.fill("#key", KEY);
    await page.click("#savekey");
    await page.fill("#explain-text", c.input);
    await page.click("#explain-go");
    await page.waitForFunction((n) => (globalThis as any).document.querySelectorAll("#explain tr.token").length === n, c.input_ids.length);
    const rows: { token: string; value: number; width: number }[] = await page.evaluate(() =>
      [...(globalThis as any).document.querySelectorAll("#explain tr.token")].map((tr: any) => ({
        token: tr.cells[0].textContent,
        value: Number(tr.dataset.value),
        width: tr.querySelector(".tokenbar").getBoundingClientRect().width,
      })),
    );
    assert.equal(rows[0].token, "[CLS]");
    assertClose(rows.map((r) => r.value), c.weights, 1e-4, "weights on the page");
    // Bars are proportional to the weights, the largest 240 px wide.
    const top = Math.max(...rows.map((r) => r.value));
    for (const r of rows) assert.ok(Math.abs(r.width - (240 * r.value) / top) < 0.6, `bar of ${r.token}: ${r.width}px`);
    assert.match((await page.textContent("#explain-note")) ?? "", /cls_attention pooling/);
    assert.deepEqual(problems, []);
  });
});
