/**
 * npm run bench:browser — bert-ts in headless Chromium on minilm-l6-h384-random next to
 * transformers.js in the same page (its WASM backend, fp32, the same weights' ONNX export in the
 * model folder, mean pooling + normalise, the model's own): sentences/s on the license corpus at
 * batch 32 and batch 1, single-threaded (a plain page) and threaded (a cross-origin isolated page,
 * COOP/COEP), the cosine between the two libraries' vectors, first-embed latency after a cold page
 * load, and the bundle size (gzip). transformers.js and onnxruntime-web are served from bench/peers
 * (installed like the Node peer bench, never from a CDN). Medians of BENCH_RUNS runs.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { availableParallelism, loadavg } from "node:os";
import { join } from "node:path";
import { ensurePeers, PEERS_DIR } from "./peers.js";
import { CHROMIUM, ROOT, SHARED, startRig } from "../test/browser/helpers.js";

const MODEL = "minilm-l6-h384-random";
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const SENTENCES = readFileSync(join(SHARED, "corpus", "license-sentences.txt"), "utf8").split("\n").filter(Boolean).slice(0, Number(process.env.BENCH_SENTENCES ?? 128));
const TJS_DIST = join(PEERS_DIR, "node_modules", "@huggingface", "transformers", "dist");

interface Row {
  lib: string;
  kernels: string;
  firstEmbedMs: number;
  batch32: number;
  batch1: number;
}

/** transformers.js loads onnxruntime-web's .mjs/.wasm from beside its own bundle: one folder of links to both. */
function peerFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), "bert-ts-peers-"));
  for (const from of [join(PEERS_DIR, "node_modules", "onnxruntime-web", "dist"), TJS_DIST]) {
    for (const name of readdirSync(from)) if (!existsSync(join(dir, name))) symlinkSync(join(from, name), join(dir, name));
  }
  return dir;
}

async function measure(isolated: boolean, withPeer: boolean): Promise<{ rows: Row[]; minCosine?: number }> {
  const rig = await startRig(withPeer ? { "/peers/": peerFolder() } : {}, { isolated });
  try {
    const page = await rig.browser.newPage();
    await page.goto(`${rig.server.url}/page/`);
    await page.waitForFunction(() => (globalThis as any).ready === true);
    // The in-page part lives in test/browser/page/bench.js (page.evaluate cannot carry tsx's helpers).
    // A string, not a function: tsx rewrites a function's dynamic import() with helpers the page lacks.
    const args = JSON.stringify([MODEL, SENTENCES, RUNS, withPeer]).slice(1, -1);
    return (await page.evaluate(`import("/page/bench.js").then((m) => m.run(${args}))`)) as { rows: Row[]; minCosine?: number };
  } finally {
    await rig.close();
  }
}

const withPeer = process.env.BENCH_NO_PEER ? false : ensurePeers() && existsSync(join(TJS_DIST, "transformers.min.js"));
const { buildBrowser } = (await import(join(ROOT, "scripts", "build-browser.mjs"))) as { buildBrowser(): Promise<{ sizes: Record<string, { bytes: number; gzip: number }> }> };
const { sizes } = await buildBrowser();
console.log(`bench:browser — ${MODEL}, ${SENTENCES.length} sentences of the license corpus, median of ${RUNS} runs; Chromium ${CHROMIUM}; ${availableParallelism()} cores, load average ${loadavg()[0].toFixed(1)}`);
console.log("\n| bundle file | bytes | gzip |\n| --- | ---: | ---: |");
for (const [name, s] of Object.entries(sizes)) console.log(`| ${name} | ${s.bytes} | ${s.gzip} |`);
console.log("\n| page | library | kernels | first embed after cold load (ms) | sent/s batch 32 | sent/s batch 1 | bert-ts ÷ peer (32 / 1) | min cosine |\n| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |");
for (const isolated of [false, true]) {
  const { rows, minCosine } = await measure(isolated, withPeer);
  const [ours, peer] = rows;
  for (const r of rows) {
    const ratio = r === ours && peer ? `${(ours.batch32 / peer.batch32).toFixed(2)}x / ${(ours.batch1 / peer.batch1).toFixed(2)}x` : "";
    console.log(`| ${isolated ? "isolated (threads)" : "plain (1 thread)"} | ${r.lib} | ${r.kernels} | ${r.firstEmbedMs.toFixed(0)} | ${r.batch32.toFixed(1)} | ${r.batch1.toFixed(1)} | ${ratio} | ${r === ours && minCosine !== undefined ? minCosine.toFixed(6) : ""} |`);
  }
}
console.log("\nWASM GEMM GFLOP/s next to the native kernels: npm run bench:wasm-gemm (the wasm stream's bench).");
