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

export function runLimitsBench(print: boolean): { peaks: Peaks; gemm: GemmRate[] } | undefined {
  const { addon, reason } = loadNativeAddon();
  if (!addon) {
    if (print) console.log(`limits: skipped (${reason})`);
    return undefined;
  }
  const peaks = measurePeaks(addon);
  const gemm = measureLowpGemm(addon, peaks);
  if (print) {
    const f = (x: number) => x.toFixed(0);
    console.log(`\nThis machine's limits (${peaks.isa}, register-only loops, per-thread CPU time): GOPS on 1 / ${peaks.threads} threads`);
    console.log(`  float32 FMA ${f(peaks.fma[0])} / ${f(peaks.fma[1])}   int8 VPDPBUSD ${f(peaks.int8[0])} / ${f(peaks.int8[1])}   bf16 VDPBF16PS ${f(peaks.bf16[0])} / ${f(peaks.bf16[1])}`);
    console.log("Linear layers, 1 thread, process CPU time (row quantisation and epilogue included):");
    console.log("| dtype | M | K × N | GOPS | % of its 1-thread probe |");
    console.log("| --- | ---: | --- | ---: | ---: |");
    for (const g of gemm) console.log(`| ${g.dtype} | ${g.m} | ${g.k}×${g.n} | ${g.gops.toFixed(1)} | ${(100 * g.ofPeak).toFixed(0)}% |`);
  }
  return { peaks, gemm };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) runLimitsBench(true);
