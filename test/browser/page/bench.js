// bench:browser's in-page part (bench/browser.ts): bert-ts and transformers.js on the same texts.
import { bt } from "./checks.js";

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function rate(embed, texts, batchSize, runs) {
  const rates = [];
  for (let r = 0; r < runs; r++) {
    const start = performance.now();
    for (let i = 0; i < texts.length; i += batchSize) await embed(texts.slice(i, i + batchSize));
    rates.push(texts.length / ((performance.now() - start) / 1000));
  }
  return median(rates);
}

export async function run(model, texts, runs, peer) {
  let t0 = performance.now();
  const encoder = await bt.SentenceEncoder.load(`/models/${model}`, { resolve: { browserCache: false } });
  const ours = await encoder.embed(texts.slice(0, 32));
  const rows = [{ lib: "bert-ts", kernels: encoder.model.backend.name, firstEmbedMs: performance.now() - t0 }];
  const btEmbed = (batch) => encoder.embed(batch, { batchSize: batch.length });
  rows[0].batch32 = await rate(btEmbed, texts, 32, runs);
  rows[0].batch1 = await rate(btEmbed, texts, 1, runs);
  if (!peer) return { rows };
  t0 = performance.now();
  const tjs = await import("/peers/transformers.min.js");
  tjs.env.allowRemoteModels = false;
  tjs.env.allowLocalModels = true;
  tjs.env.localModelPath = "/models/";
  tjs.env.useBrowserCache = false;
  tjs.env.backends.onnx.wasm.wasmPaths = "/peers/";
  const threads = globalThis.crossOriginIsolated ? navigator.hardwareConcurrency : 1;
  tjs.env.backends.onnx.wasm.numThreads = threads;
  const extractor = await tjs.pipeline("feature-extraction", model, { dtype: "fp32", device: "wasm" });
  const first = await extractor(texts.slice(0, 32), { pooling: "mean", normalize: true });
  const firstEmbedMs = performance.now() - t0;
  const dim = first.dims[1];
  let minCosine = 1;
  ours.forEach((v, b) => {
    const w = first.data.subarray(b * dim, (b + 1) * dim);
    let dot = 0, nv = 0, nw = 0;
    for (let i = 0; i < dim; i++) (dot += v[i] * w[i]), (nv += v[i] * v[i]), (nw += w[i] * w[i]);
    minCosine = Math.min(minCosine, dot / Math.sqrt(nv * nw));
  });
  const tjsEmbed = (batch) => extractor(batch, { pooling: "mean", normalize: true });
  rows.push({ lib: "transformers.js", kernels: `onnxruntime-web wasm x${threads} thread${threads > 1 ? "s" : ""}`, firstEmbedMs, batch32: await rate(tjsEmbed, texts, 32, runs), batch1: await rate(tjsEmbed, texts, 1, runs) });
  return { rows, minCosine };
}
