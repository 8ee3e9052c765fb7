/**
 * npm run bench:browser — bert-ts in headless Chromium on minilm-l6-h384-random next to
 * transformers.js in the same page (its WASM backend, fp32, the same weights' ONNX export in the
 * model folder, mean pooling + normalise, the model's own): sentences/s on the license corpus at
 * batch 32 and batch 1, single-threaded (a plain page) and threaded (a cross-origin isolated page,
 * COOP/COEP; transformers.js gets numThreads = the threads bert-ts runs), the cosine between the two
 * libraries' vectors, first-embed latency after a cold page load, and the bundle size (gzip).
 * transformers.js and onnxruntime-web are served from bench/peers (installed like the Node peer
 * bench, never from a CDN).
 *
 * Fair on a shared machine: the two libraries alternate cell by cell (who goes first swaps every run)
 * so that both see the same load, and each cell's ratio is of medians over BENCH_RUNS runs. Bounded:
 * a cell stops after the batch that crosses BENCH_CELL_SECONDS, and the other library then embeds
 * exactly the sentences the first one did; runs after BENCH_MAX_MINUTES are skipped (the table says
 * how many ran).
 * Env: BENCH_RUNS (default 3), BENCH_SENTENCES (batch 32, default 64), BENCH_SENTENCES_1 (batch 1,
 * default 32), BENCH_CELL_SECONDS (default 30), BENCH_MAX_MINUTES (default 20), BENCH_NO_PEER,
 * BENCH_PAGES (plain,isolated).
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import type { Page } from "playwright-core";
import { loadNativeAddon, NativeBackend } from "../src/backend/native.js";
import { ensurePeers, PEERS_DIR } from "./peers.js";
import { randomArray, secondsPerCall } from "./timing.js";
import { CHROMIUM, ROOT, SHARED, startRig } from "../test/browser/helpers.js";

const MODEL = "minilm-l6-h384-random";
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const CORPUS = readFileSync(join(SHARED, "corpus", "license-sentences.txt"), "utf8").split("\n").filter(Boolean);
const TEXTS_32 = CORPUS.slice(0, Number(process.env.BENCH_SENTENCES ?? 64));
const TEXTS_1 = CORPUS.slice(0, Number(process.env.BENCH_SENTENCES_1 ?? 32));
const CELL_MS = 1000 * Number(process.env.BENCH_CELL_SECONDS ?? 30);
const DEADLINE = Date.now() + 60_000 * Number(process.env.BENCH_MAX_MINUTES ?? 20);
const PAGES = (process.env.BENCH_PAGES ?? "plain,isolated").split(",").map((p) => p.trim());
const TJS_DIST = join(PEERS_DIR, "node_modules", "@huggingface", "transformers", "dist");

interface Loaded {
  kernels: string;
  threads: number;
  firstEmbedMs: number;
  notice?: string | null;
}
type Lib = "ours" | "peer";

/** transformers.js loads onnxruntime-web's .mjs/.wasm from beside its own bundle: one folder of links to both. */
function peerFolder(): string {
  const dir = mkdtempSync(join(tmpdir(), "bert-ts-peers-"));
  for (const from of [join(PEERS_DIR, "node_modules", "onnxruntime-web", "dist"), TJS_DIST]) {
    for (const name of readdirSync(from)) if (!existsSync(join(dir, name))) symlinkSync(join(from, name), join(dir, name));
  }
  return dir;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1];

/** Calls an export of the in-page part (test/browser/page/bench.js). A string: tsx rewrites a function's dynamic import(). */
async function call<T>(page: Page, fn: string, ...args: unknown[]): Promise<T> {
  return (await page.evaluate(`import("/page/bench.js").then((m) => m.${fn}(${JSON.stringify(args).slice(1, -1)}))`)) as T;
}

interface PageResult {
  page: string;
  ours: Loaded;
  peer?: Loaded;
  minCosine?: number;
  /** sentences/s per library and batch size, one entry per run. */
  rates: Record<Lib, Record<number, number[]>>;
  runs: number;
  load: [number, number];
  /** GFLOP/s of the page's kernels at GEMM_SHAPES (best sample, wall clock). */
  gemm: number[];
}

/** [M, K, N]: one sentence's attention projection, a batch's FFN up. */
const GEMM_SHAPES: [number, number, number][] = [
  [40, 384, 384],
  [1280, 384, 1536],
];

async function measure(isolated: boolean, withPeer: boolean, peerDir: string | undefined): Promise<PageResult> {
  const loadBefore = loadavg()[0];
  const rig = await startRig(peerDir ? { "/peers/": peerDir } : {}, { isolated });
  try {
    const page = await rig.browser.newPage();
    await page.goto(`${rig.server.url}/page/`);
    await page.waitForFunction(() => (globalThis as any).ready === true);
    const ours = await call<Loaded>(page, "loadOurs", MODEL, CORPUS[0]);
    if (isolated && ours.threads < 2) throw new Error(`the isolated page runs bert-ts on ${ours.threads} thread: ${ours.notice ?? "?"}`);
    const result: PageResult = { page: isolated ? "isolated" : "plain", ours, rates: { ours: { 32: [], 1: [] }, peer: { 32: [], 1: [] } }, runs: 0, load: [loadBefore, 0], gemm: [] };
    for (const [m, k, n] of GEMM_SHAPES) result.gemm.push(await call<number>(page, "gemm", m, k, n, Math.max(1, Math.round(2e8 / (2 * m * k * n))), 7));
    if (withPeer) {
      result.peer = await call<Loaded>(page, "loadPeer", MODEL, ours.threads, CORPUS[0]);
      result.minCosine = await call<number>(page, "minCosine", TEXTS_32.slice(0, 32));
    }
    const libs: Lib[] = withPeer ? ["ours", "peer"] : ["ours"];
    for (let run = 0; run < RUNS && (run === 0 || Date.now() < DEADLINE); run++) {
      for (const [batch, texts] of [[32, TEXTS_32], [1, TEXTS_1]] as [number, string[]][]) {
        let n = texts.length;
        for (const lib of run % 2 ? [...libs].reverse() : libs) {
          const r = await call<{ sentences: number; seconds: number }>(page, "rate", lib, texts.slice(0, n), batch, CELL_MS);
          n = r.sentences; // the other library embeds exactly these
          result.rates[lib][batch].push(r.sentences / r.seconds);
        }
      }
      result.runs = run + 1;
      process.stderr.write(`bench:browser: ${result.page} page, run ${run + 1} done (load ${loadavg()[0].toFixed(1)})\n`);
    }
    result.load[1] = loadavg()[0];
    return result;
  } finally {
    await rig.close();
  }
}

const withPeer = process.env.BENCH_NO_PEER ? false : ensurePeers() && existsSync(join(TJS_DIST, "transformers.min.js"));
const { buildBrowser } = (await import(join(ROOT, "scripts", "build-browser.mjs"))) as { buildBrowser(): Promise<{ sizes: Record<string, { bytes: number; gzip: number }> }> };
const { sizes } = await buildBrowser();
const peerDir = withPeer ? peerFolder() : undefined;
const results: PageResult[] = [];
try {
  for (const p of PAGES) results.push(await measure(p === "isolated", withPeer, peerDir));
} finally {
  if (peerDir) rmSync(peerDir, { recursive: true, force: true });
}

console.log(`bench:browser — ${MODEL}; batch 32 over ${TEXTS_32.length} sentences, batch 1 over ${TEXTS_1.length} of the license corpus; Chromium ${CHROMIUM}; ${availableParallelism()} cores`);
console.log("\n| bundle file | bytes | gzip |\n| --- | ---: | ---: |");
for (const [name, s] of Object.entries(sizes)) console.log(`| ${name} | ${s.bytes} | ${s.gzip} |`);
const total = Object.entries(sizes).filter(([n]) => n === "bert-ts.js" || n === "bert-ts-kernels.wasm");
console.log(`| page load (bert-ts.js + single-threaded kernels) | ${total.reduce((s, [, v]) => s + v.bytes, 0)} | ${total.reduce((s, [, v]) => s + v.gzip, 0)} |`);
console.log(
  "\n| page (runs, load avg before → after) | library | kernels | first embed, cold (ms) | sent/s batch 32 | sent/s batch 1 | bert-ts ÷ peer batch 32 | bert-ts ÷ peer batch 1 | min cosine |\n| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |",
);
for (const r of results) {
  const where = `${r.page === "isolated" ? "isolated (threads)" : "plain (1 thread)"} (${r.runs}, ${r.load[0].toFixed(1)} → ${r.load[1].toFixed(1)})`;
  const m = (lib: Lib, b: number) => (r.rates[lib][b].length ? median(r.rates[lib][b]) : NaN);
  // Per run ratio (both libraries in the same minute), then the median of those.
  const ratio = (b: number) => (r.peer ? `${median(r.rates.ours[b].map((x, i) => x / r.rates.peer[b][i])).toFixed(2)}x` : "");
  console.log(`| ${where} | bert-ts | ${r.ours.kernels} | ${r.ours.firstEmbedMs.toFixed(0)} (from navigation) | ${m("ours", 32).toFixed(1)} | ${m("ours", 1).toFixed(1)} | ${ratio(32)} | ${ratio(1)} | ${r.minCosine?.toFixed(6) ?? ""} |`);
  if (r.peer) console.log(`| ${where} | transformers.js | ${r.peer.kernels} | ${r.peer.firstEmbedMs.toFixed(0)} (from import) | ${m("peer", 32).toFixed(1)} | ${m("peer", 1).toFixed(1)} | | | |`);
}

// The same shapes on the native addon in Node, for scale (threads as in each page; best sample, wall clock).
const { addon } = loadNativeAddon();
console.log(`\n| GEMM GFLOP/s, y = x . W^T (best of 7 samples, wall clock) | ${results.map((r) => `WASM in Chromium, ${r.page} page (x${r.ours.threads})`).join(" | ")} | ${results.map((r) => `native ${addon ? addon.info().best : "unavailable"} (x${r.ours.threads})`).join(" | ")} |`);
console.log(`| --- | ${results.map(() => "---:").join(" | ")} | ${results.map(() => "---:").join(" | ")} |`);
GEMM_SHAPES.forEach(([m, k, n], i) => {
  const native = results.map((r) => {
    if (!addon) return "-";
    addon.setThreads(r.ours.threads);
    const nb = new NativeBackend(addon);
    const params = nb.prepareLinear(randomArray(n * k, 2), null, n, k);
    const x = randomArray(m * k, 1), y = new Float32Array(m * n);
    const s = secondsPerCall(() => nb.linear(x, m, params, "none", y), { minRuns: 7, seconds: 0.2, clock: "wall", statistic: "best" });
    nb.dispose();
    return ((2 * m * n * k) / s / 1e9).toFixed(1);
  });
  console.log(`| M ${m}, K ${k}, N ${n} | ${results.map((r) => r.gemm[i].toFixed(1)).join(" | ")} | ${native.join(" | ")} |`);
});
console.log("All shapes, one thread, with peak fractions: npm run bench:wasm-gemm.");
