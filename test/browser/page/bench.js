// bench:browser's in-page part (bench/browser.ts drives it step by step with page.evaluate): bert-ts
// and transformers.js on the same texts in the same page.
import { bt } from "./checks.js";

const libs = {};

/** bert-ts: load, embed one sentence. Cold: the page was just opened in a fresh profile. */
export async function loadOurs(model, firstText) {
  const encoder = await bt.SentenceEncoder.load(`/models/${model}`, { resolve: { browserCache: false } });
  await encoder.embed([firstText]);
  // performance.now() counts from the navigation: bundle, kernels, model files, tokenizer, first vector.
  const firstEmbedMs = performance.now();
  libs.ours = (batch) => encoder.embed(batch, { batchSize: batch.length });
  const backend = encoder.model.backend;
  libs.backend = backend;
  return { kernels: backend.name, threads: backend.threads ?? 1, notice: bt.backendNotice ?? null, firstEmbedMs };
}

/** transformers.js (onnxruntime-web, WASM, fp32) with `threads` threads: import, load, embed one sentence. */
export async function loadPeer(model, threads, firstText) {
  const t0 = performance.now();
  const tjs = await import("/peers/transformers.min.js");
  tjs.env.allowRemoteModels = false;
  tjs.env.allowLocalModels = true;
  tjs.env.localModelPath = "/models/";
  tjs.env.useBrowserCache = false;
  tjs.env.backends.onnx.wasm.wasmPaths = "/peers/";
  tjs.env.backends.onnx.wasm.numThreads = threads;
  const extractor = await tjs.pipeline("feature-extraction", model, { dtype: "fp32", device: "wasm" });
  await extractor([firstText], { pooling: "mean", normalize: true });
  const firstEmbedMs = performance.now() - t0;
  libs.peer = async (batch) => {
    const t = await extractor(batch, { pooling: "mean", normalize: true });
    const dim = t.dims[1];
    return batch.map((_, b) => t.data.subarray(b * dim, (b + 1) * dim));
  };
  return { kernels: `onnxruntime-web wasm x${threads} thread${threads > 1 ? "s" : ""}`, threads, firstEmbedMs };
}

/** Smallest cosine between the two libraries' vectors of `texts` (one batch each). */
export async function minCosine(texts) {
  const [a, b] = [await libs.ours(texts), await libs.peer(texts)];
  let min = 1;
  a.forEach((v, i) => {
    const w = b[i];
    let dot = 0, nv = 0, nw = 0;
    for (let d = 0; d < v.length; d++) (dot += v[d] * w[d]), (nv += v[d] * v[d]), (nw += w[d] * w[d]);
    min = Math.min(min, dot / Math.sqrt(nv * nw));
  });
  return min;
}

/**
 * Embeds `texts` in batches of `batchSize` with one library, stopping after the batch that crosses
 * `budgetMs` (a loaded machine must not stall the bench). Returns the sentences done and the seconds.
 */
export async function rate(lib, texts, batchSize, budgetMs) {
  const embed = libs[lib];
  const start = performance.now();
  let done = 0;
  while (done < texts.length) {
    await embed(texts.slice(done, done + batchSize));
    done = Math.min(texts.length, done + batchSize);
    if (performance.now() - start > budgetMs) break;
  }
  return { sentences: done, seconds: (performance.now() - start) / 1000 };
}

/** GFLOP/s of the page's kernels' linear (y = x . W^T, W prepared once) at one shape: best of `samples` timings of `reps` calls. */
export function gemm(m, k, n, reps, samples) {
  const backend = libs.backend;
  const rnd = (len, seed) => {
    const a = new Float32Array(len);
    for (let i = 0; i < len; i++) a[i] = (((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 31) - 1);
    return a;
  };
  const params = backend.prepareLinear(rnd(n * k, 2), null, n, k);
  const x = rnd(m * k, 1), y = new Float32Array(m * n);
  for (let i = 0; i < 3; i++) backend.linear(x, m, params, "none", y);
  let best = Infinity;
  for (let s = 0; s < samples; s++) {
    const t0 = performance.now();
    for (let r = 0; r < reps; r++) backend.linear(x, m, params, "none", y);
    best = Math.min(best, (performance.now() - t0) / 1000 / reps);
  }
  return (2 * m * n * k) / best / 1e9;
}
