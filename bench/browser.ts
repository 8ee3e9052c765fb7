/**
 * npm run bench:browser — bert-ts in headless Chromium on minilm-l6-h384-random next to
 * transformers.js in the same page (its WASM backend, fp32, the same weights' ONNX export in the
 * model folder, mean pooling + normalise, the model's own): sentences/s on the license corpus at
 * batch 32 and batch 1, single-threaded (a plain page) and threaded (a cross-origin isolated page,
 * COOP/COEP), the cosine between the two libraries' vectors, first-embed latency after a cold page
 * load, and the bundle size (gzip). transformers.js and onnxruntime-web are served from bench/peers
 * (installed like the Node peer bench, never from a CDN). Medians of BENCH_RUNS runs.
 */
import { existsSync, readFileSync } from "node:fs";
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

async function measure(isolated: boolean, withPeer: boolean): Promise<{ rows: Row[]; minCosine?: number }> {
  const rig = await startRig(withPeer ? { "/peers/": TJS_DIST } : {}, { isolated });
  try {
    const page = await rig.browser.newPage();
    await page.goto(`${rig.server.url}/page/`);
    await page.waitForFunction(() => (globalThis as any).ready === true);
    return await page.evaluate(
      async ([model, texts, runs, peer]) => {
        const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
        const rate = async (embed: (batch: string[]) => Promise<unknown>, batchSize: number) => {
          const rates: number[] = [];
          for (let r = 0; r < runs; r++) {
            const start = performance.now();
            for (let i = 0; i < texts.length; i += batchSize) await embed(texts.slice(i, i + batchSize));
            rates.push(texts.length / ((performance.now() - start) / 1000));
          }
          return median(rates);
        };
        const bt = (globalThis as any).checks.bt;
        let t0 = performance.now();
        const encoder = await bt.SentenceEncoder.load(`/models/${model}`, { resolve: { browserCache: false } });
        const ours: Float32Array[] = await encoder.embed(texts.slice(0, 32));
        const rows: any[] = [{ lib: "bert-ts", kernels: encoder.model.backend.name, firstEmbedMs: performance.now() - t0 }];
        const btEmbed = (batch: string[]) => encoder.embed(batch, { batchSize: batch.length });
        rows[0].batch32 = await rate(btEmbed, 32);
        rows[0].batch1 = await rate(btEmbed, 1);
        if (!peer) return { rows };
        t0 = performance.now();
        const tjs = await import("/peers/transformers.min.js" as string);
        tjs.env.allowRemoteModels = false;
        tjs.env.allowLocalModels = true;
        tjs.env.localModelPath = "/models/";
        tjs.env.useBrowserCache = false;
        tjs.env.backends.onnx.wasm.wasmPaths = "/peers/";
        const threads = (globalThis as any).crossOriginIsolated ? (globalThis as any).navigator.hardwareConcurrency : 1;
        tjs.env.backends.onnx.wasm.numThreads = threads;
        const extractor = await tjs.pipeline("feature-extraction", model, { dtype: "fp32", device: "wasm" });
        const first = await extractor(texts.slice(0, 32), { pooling: "mean", normalize: true });
        const firstEmbedMs = performance.now() - t0;
        const dim = first.dims[1];
        let minCosine = 1;
        ours.forEach((v, b) => {
          const w = first.data.subarray(b * dim, (b + 1) * dim);
          let dotp = 0, nv = 0, nw = 0;
          for (let i = 0; i < dim; i++) (dotp += v[i] * w[i]), (nv += v[i] * v[i]), (nw += w[i] * w[i]);
          minCosine = Math.min(minCosine, dotp / Math.sqrt(nv * nw));
        });
        const tjsEmbed = (batch: string[]) => extractor(batch, { pooling: "mean", normalize: true });
        rows.push({ lib: "transformers.js", kernels: `onnxruntime-web wasm x${threads} thread${threads > 1 ? "s" : ""}`, firstEmbedMs, batch32: await rate(tjsEmbed, 32), batch1: await rate(tjsEmbed, 1) });
        return { rows, minCosine };
      },
      [MODEL, SENTENCES, RUNS, withPeer] as const,
    );
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
