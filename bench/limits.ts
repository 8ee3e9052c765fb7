/**
 * This machine's arithmetic limits and how close the GEMMs get to them (issue 15):
 *   - peak probes in the addon: register-only loops of float32 FMAs, VPDPBUSD (int8) and VDPBF16PS
 *     (bf16) on 1 and on all threads, each thread timed on its own CPU time (a busy host takes turns
 *     on the cores; this measures the core, not the queue);
 *   - the linear layers at BERT shapes in float32, bf16 and int8 (quantisation of the rows and the
 *     epilogue included), as GOPS and as a share of the matching probe.
 * `limitPerSecond` turns a probe into the texts/s the arithmetic alone would allow.
 */
import { pathToFileURL } from "node:url";
import type { Dtype } from "../src/backend/backend.js";
import { NativeBackend, loadNativeAddon, type NativeAddon } from "../src/backend/native.js";

export interface Peaks {
  isa: string;
  threads: number;
  /** GOPS (a multiply-add counts 2) on 1 thread and on all threads. */
  fma: [number, number];
  int8: [number, number];
  bf16: [number, number];
}

export function measurePeaks(addon: NativeAddon): Peaks {
  const info = addon.info();
  const isa = addon.isaIndex(info.best);
  const probe = (kind: 0 | 1 | 2): [number, number] => [addon.peak(isa, kind, 1), addon.peak(isa, kind, info.threads)];
  return { isa: info.best, threads: info.threads, fma: probe(0), int8: probe(1), bf16: probe(2) };
}

/** Multiply-add FLOPs of one BERT-style forward pass over a sequence of `len` tokens. */
export function encoderFlops(len: number, hidden: number, intermediate: number, layers: number): number {
  return layers * (2 * len * (4 * hidden * hidden + 2 * hidden * intermediate) + 4 * len * len * hidden);
}

/** Texts/s the arithmetic alone allows: texts / (their FLOPs / peak). */
export function limitPerSecond(texts: number, flops: number, peakGops: number): number {
  return texts / (flops / (peakGops * 1e9));
}

export interface GemmRate {
  dtype: Dtype;
  m: number;
  k: number;
  n: number;
  gops: number;
  ofPeak: number;
}

/**
 * Linear layers at BERT shapes on ONE thread, timed on this process's CPU time (so a busy host does
 * not distort them), median of 5 timings of a few calls each, against the 1-thread probe.
 */
export function measureLowpGemm(addon: NativeAddon, peaks: Peaks): GemmRate[] {
  const out: GemmRate[] = [];
  const threads = addon.info().threads;
  addon.setThreads(1);
  const shapes: [number, number, number][] = [
    [256, 384, 1152],
    [256, 384, 1536],
    [256, 1536, 384],
    [512, 768, 3072],
    [512, 3072, 768],
  ];
  for (const dtype of ["float32", "bf16", "int8"] as const) {
    const nb = new NativeBackend(addon, undefined, dtype);
    for (const [m, k, n] of shapes) {
      const x = Float32Array.from({ length: m * k }, (_, i) => Math.sin(i));
      const w = Float32Array.from({ length: n * k }, (_, i) => Math.cos(i) * 0.05);
      const params = nb.prepareLinear(w, new Float32Array(n), n, k);
      const y = new Float32Array(m * n);
      nb.linear(x, m, params, "none", y);
      const reps = Math.max(1, Math.round(2e9 / (2 * m * n * k)));
      const times: number[] = [];
      for (let r = 0; r < 5; r++) {
        const t0 = process.cpuUsage();
        for (let i = 0; i < reps; i++) nb.linear(x, m, params, "none", y);
        const used = process.cpuUsage(t0);
        times.push((used.user + used.system) / 1e6 / reps);
      }
      times.sort((a, b) => a - b);
      const gops = (2 * m * n * k) / times[2] / 1e9;
      const peak = dtype === "float32" ? peaks.fma[0] : dtype === "bf16" ? peaks.bf16[0] : peaks.int8[0];
      out.push({ dtype, m, k, n, gops, ofPeak: peak > 0 ? gops / peak : 0 });
    }
    nb.dispose();
  }
  addon.setThreads(threads);
  return out;
}

/**
 * The float32 linear layers of a model at `rows` rows a call, on ALL threads, wall clock (as a whole
 * process sees them), median of 5 timings of a few rounds over the layer shapes: GFLOP/s over all
 * of them. Plain linear (no epilogue), weights bigger than the caches as in the model: the most a
 * float32 forward pass could get from its linear layers on this machine right now.
 */
export function measureFloat32LinearRate(addon: NativeAddon, rows: number, hidden: number, intermediate: number, timings = 5): number {
  const nb = new NativeBackend(addon, undefined, "float32");
  // QKV, attention output, FFN up, FFN down; a few copies of each so the weights do not stay cached
  // from one call of a shape to the next (a model's 6+ layers each have their own).
  const shapes: [number, number][] = [[hidden, 3 * hidden], [hidden, hidden], [hidden, intermediate], [intermediate, hidden]];
  const copies = 4;
  const layers = shapes.flatMap(([k, n]) =>
    Array.from({ length: copies }, (_, c) => {
      const w = Float32Array.from({ length: n * k }, (_, i) => Math.cos(i + c) * 0.05);
      return { k, n, params: nb.prepareLinear(w, new Float32Array(n), n, k), x: Float32Array.from({ length: rows * k }, (_, i) => Math.sin(i)), y: new Float32Array(rows * n) };
    }),
  );
  const round = () => {
    for (const l of layers) nb.linear(l.x, rows, l.params, "none", l.y);
  };
  const flopsPerRound = layers.reduce((s, l) => s + 2 * rows * l.k * l.n, 0);
  round();
  const reps = Math.max(1, Math.round(1e11 / flopsPerRound)); // ~0.25 s a timing
  const rates: number[] = [];
  for (let r = 0; r < timings; r++) {
    const t0 = performance.now();
    for (let i = 0; i < reps; i++) round();
    rates.push((reps * flopsPerRound) / ((performance.now() - t0) / 1000) / 1e9);
  }
  nb.dispose();
  return rates.sort((a, b) => a - b)[Math.floor(timings / 2)];
}

export interface AttentionRate {
  /** e.g. "7 x 38 tokens, 12 heads x 32". */
  shape: string;
  gflops: number;
  ofPeak: number;
}

/**
 * Packed attention (QKᵀ, softmax, PV: 4·len²·headDim FLOPs per head) on ONE thread, process CPU
 * time, median of 5, against the 1-thread FMA probe: a 256-row block of corpus-length sentences
 * (MiniLM shape), 128-token inputs, and one 512-token bert-base sequence.
 */
export function measureAttention(addon: NativeAddon, peaks: Peaks): AttentionRate[] {
  const threads = addon.info().threads;
  addon.setThreads(1);
  const nb = new NativeBackend(addon);
  const shapes: [number, number, number, number][] = [
    [7, 38, 12, 32],
    [2, 128, 12, 32],
    [4, 128, 12, 64],
    [1, 512, 12, 64],
  ];
  const out: AttentionRate[] = [];
  for (const [seqs, len, heads, d] of shapes) {
    const rows = seqs * len;
    const qkv = Float32Array.from({ length: rows * 3 * heads * d }, (_, i) => Math.sin(i * 0.37));
    const starts = Int32Array.from({ length: seqs + 1 }, (_, s) => s * len);
    const ctx = new Float32Array(rows * heads * d);
    const flops = 4 * seqs * len * len * heads * d;
    const reps = Math.max(1, Math.round(4e8 / flops));
    nb.attention(qkv, starts, heads, d, 1 / Math.sqrt(d), false, ctx);
    const times: number[] = [];
    for (let r = 0; r < 5; r++) {
      const t0 = process.cpuUsage();
      for (let i = 0; i < reps; i++) nb.attention(qkv, starts, heads, d, 1 / Math.sqrt(d), false, ctx);
      const used = process.cpuUsage(t0);
      times.push((used.user + used.system) / 1e6 / reps);
    }
    times.sort((a, b) => a - b);
    const gflops = flops / times[2] / 1e9;
    out.push({ shape: `${seqs} x ${len} tokens, ${heads} heads x ${d}`, gflops, ofPeak: gflops / peaks.fma[0] });
  }
  nb.dispose();
  addon.setThreads(threads);
  return out;
}

/** only: "attention" skips the GEMM table (quick look at the attention kernel). */
export function runLimitsBench(print: boolean, only?: string): { peaks: Peaks; gemm: GemmRate[]; attention: AttentionRate[] } | undefined {
  const { addon, reason } = loadNativeAddon();
  if (!addon) {
    if (print) console.log(`limits: skipped (${reason})`);
    return undefined;
  }
  const peaks = measurePeaks(addon);
  const gemm = only === "attention" ? [] : measureLowpGemm(addon, peaks);
  const attention = measureAttention(addon, peaks);
  if (print) {
    const f = (x: number) => x.toFixed(0);
    console.log(`\nThis machine's limits (${peaks.isa}, register-only loops, per-thread CPU time): GOPS on 1 / ${peaks.threads} threads`);
    console.log(`  float32 FMA ${f(peaks.fma[0])} / ${f(peaks.fma[1])}   int8 VPDPBUSD ${f(peaks.int8[0])} / ${f(peaks.int8[1])}   bf16 VDPBF16PS ${f(peaks.bf16[0])} / ${f(peaks.bf16[1])}`);
    console.log("Linear layers, 1 thread, process CPU time (row quantisation and epilogue included):");
    console.log("| dtype | M | K × N | GOPS | % of its 1-thread probe |");
    console.log("| --- | ---: | --- | ---: | ---: |");
    for (const g of gemm) console.log(`| ${g.dtype} | ${g.m} | ${g.k}×${g.n} | ${g.gops.toFixed(1)} | ${(100 * g.ofPeak).toFixed(0)}% |`);
    console.log("Attention (QKᵀ, softmax, PV), 1 thread, process CPU time:");
    console.log("| shape | GFLOP/s | % of the 1-thread FMA probe |");
    console.log("| --- | ---: | ---: |");
    for (const a of attention) console.log(`| ${a.shape} | ${a.gflops.toFixed(1)} | ${(100 * a.ofPeak).toFixed(0)}% |`);
  }
  return { peaks, gemm, attention };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) runLimitsBench(true, process.argv[2]);
