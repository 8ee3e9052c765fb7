/**
 * GEMM throughput of the wasm backend's linear kernel (WebAssembly SIMD128, V8 in Node) next to the
 * native addon's on the same shapes, in the same run, one thread each: y = x . W^T, W packed once,
 * float32, preallocated output. The wasm figure includes what the backend really does per call
 * (copying x in and y out of linear memory).
 *
 *   npm run bench:wasm-gemm      (or: node --import tsx bench/wasm-gemm.ts)
 *
 * GFLOP/s = 2 M N K / median time of a batch of runs (bench/timing.ts), by default in CPU time of
 * this process (BERT_TS_BENCH_CLOCK=wall for the wall clock): both sides run one thread, and on a
 * shared machine the wall clock of a call longer than a scheduler time slice (every shape here at
 * M = 512, the K >= 768 ones from M = 32) includes the time other processes ran, which once read as
 * "the WASM GEMM is slow at K >= 512". The two sides alternate shape by shape for several rounds and
 * each keeps its best round.
 * Peak fractions, per core:
 *  - SIMD128 peak: measured in the same run by a register-only multiply + add loop inside the module
 *    (WasmBackend.measurePeakGflops): the most 128-bit code without fused multiply-add reaches here;
 *  - FMA peak of the machine (what the native kernels can reach): the clock times
 *    BERT_TS_BENCH_FLOPS_PER_CYCLE (default 32: Zen 4's 512-bit FMA per cycle, or two 256-bit FMA
 *    pipes, 16 lanes x 2 flops). The clock is BERT_TS_BENCH_GHZ, else the largest of three lower
 *    bounds: /proc/cpuinfo's MHz (a VM shows the base clock there, not the boost), the best native
 *    GEMM / 32 flops per cycle, the SIMD128 peak / 16 (two multiply and two add pipes on 4 lanes).
 *    A clock too low makes the FMA fraction too high: it is an upper bound, and so says the table.
 * Env: BERT_TS_BENCH_CLOCK (cpu | wall), BERT_TS_BENCH_RUNS (min samples, default 5), BERT_TS_BENCH_SECONDS (default 0.25),
 * BERT_TS_BENCH_ROUNDS (default 3), BERT_TS_BENCH_GHZ, BERT_TS_WASM (kernels).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { loadNativeAddon } from "../src/backend/native.js";
import { tryLoadWasmBackend } from "../src/backend/wasm-node.js";
import type { Backend, LinearParams } from "../src/backend/backend.js";
import { GEMM_KN } from "./gemm.js";
import { clockFromEnv, randomArray, secondsPerCall, type TimeOptions } from "./timing.js";

const benchDir = dirname(fileURLToPath(import.meta.url));

export const WASM_GEMM_M = [32, 128, 512];
/** The native GEMM bench's BERT-small/base [K, N] shapes, so the two tables line up. */
export const WASM_GEMM_KN: [number, number][] = GEMM_KN;

export interface WasmGemmRow {
  m: number;
  k: number;
  n: number;
  wasmGflops: number;
  nativeGflops: number | null;
  wasmOverNative: number | null;
  wasmFmaPeakFraction: number;
  wasmSimd128PeakFraction: number;
}

/** GFLOP/s of one backend's linear at one shape (bench/timing.ts's loop). */
export function gemmGflops(backend: Backend, params: LinearParams, m: number, options: TimeOptions): number {
  const { inFeatures: k, outFeatures: n } = params;
  const x = randomArray(m * k, 1);
  const y = new Float32Array(m * n);
  return (2 * m * n * k) / secondsPerCall(() => backend.linear(x, m, params, "none", y), options) / 1e9;
}

function cpuinfoGhz(): number {
  try {
    const mhz = /cpu MHz\s*:\s*([\d.]+)/.exec(readFileSync("/proc/cpuinfo", "utf8"));
    if (mhz) return Number(mhz[1]) / 1000;
  } catch {
    // not Linux
  }
  return (cpus()[0]?.speed ?? 0) / 1000;
}

export async function runWasmGemmBench() {
  const env = process.env;
  const minRuns = Number(env.BERT_TS_BENCH_RUNS ?? 5);
  const seconds = Number(env.BERT_TS_BENCH_SECONDS ?? 0.25);
  const rounds = Number(env.BERT_TS_BENCH_ROUNDS ?? 3);
  // One thread each: CPU time is what a call costs, whatever else the machine runs (bench/timing.ts).
  const clock = clockFromEnv("cpu");
  const timing: TimeOptions = { minRuns, seconds, clock };
  const wasm = tryLoadWasmBackend();
  if (!wasm.backend) throw new Error(`bench:wasm-gemm needs the wasm kernels: ${wasm.reason}`);
  const wb = wasm.backend;
  const { addon, reason } = loadNativeAddon();
  if (!addon) console.log(`native addon unavailable (${reason}): wasm figures only`);
  const { NativeBackend } = await import("../src/backend/native.js");
  addon?.setThreads(1);
  const nb = addon ? new NativeBackend(addon) : undefined;
  // The peak probe in milliseconds of the same clock as the GEMMs.
  const now = clock === "cpu" ? () => { const u = process.cpuUsage(); return (u.user + u.system) / 1000; } : () => performance.now();
  const simd128Peak = () => wb.measurePeakGflops(now);
  let peak128 = simd128Peak();
  const flopsPerCycle = Number(env.BERT_TS_BENCH_FLOPS_PER_CYCLE ?? 32);
  const best = new Map<string, { wasm: number; native: number | null }>();
  const loadBefore = loadavg();
  for (let round = 0; round < rounds; round++) {
    for (const [k, n] of WASM_GEMM_KN) {
      const w = randomArray(n * k, 2);
      const pw = wb.prepareLinear(w, null, n, k);
      const pn = nb?.prepareLinear(w, null, n, k);
      for (const m of WASM_GEMM_M) {
        const key = `${m} ${k} ${n}`;
        const a = gemmGflops(wb, pw, m, timing);
        const b = nb && pn ? gemmGflops(nb, pn, m, timing) : null;
        const prev = best.get(key);
        best.set(key, { wasm: Math.max(a, prev?.wasm ?? 0), native: b === null ? null : Math.max(b, prev?.native ?? 0) });
      }
    }
    wb.dispose();
    nb?.dispose();
    peak128 = Math.max(peak128, simd128Peak());
  }
  const bestNative = Math.max(0, ...[...best.values()].map((v) => v.native ?? 0));
  const ghz = env.BERT_TS_BENCH_GHZ ? Number(env.BERT_TS_BENCH_GHZ) : Math.max(cpuinfoGhz(), bestNative / flopsPerCycle, peak128 / 16);
  const rows: WasmGemmRow[] = [];
  for (const [key, v] of best) {
    const [m, k, n] = key.split(" ").map(Number);
    rows.push({
      m,
      k,
      n,
      wasmGflops: v.wasm,
      nativeGflops: v.native,
      wasmOverNative: v.native ? v.wasm / v.native : null,
      wasmFmaPeakFraction: v.wasm / (ghz * flopsPerCycle),
      wasmSimd128PeakFraction: v.wasm / peak128,
    });
  }
  return {
    date: new Date().toISOString(),
    cpu: `${cpus()[0]?.model ?? "?"} (${env.BERT_TS_BENCH_GHZ ? "" : ">= "}${ghz.toFixed(2)} GHz${env.BERT_TS_BENCH_GHZ ? ", given" : ", a lower bound: FMA fractions are upper bounds"})`,
    node: process.version,
    clock,
    loadavgBefore: loadBefore,
    loadavgAfter: loadavg(),
    wasm: { name: wb.name, tiles: wb.tiles },
    native: nb ? { name: nb.name } : null,
    peak: { ghz, clockFrom: env.BERT_TS_BENCH_GHZ ? "BERT_TS_BENCH_GHZ" : "lower bound: max(cpuinfo, native best / flops per cycle, SIMD128 peak / 16)", fmaFlopsPerCycle: flopsPerCycle, simd128MeasuredGflops: peak128 },
    rows,
  };
}

function printTable(r: Awaited<ReturnType<typeof runWasmGemmBench>>): void {
  console.log(`GEMM y = x . W^T (float32, 1 thread), GFLOP/s by ${r.clock === "cpu" ? "CPU time" : "wall clock"} (median of a batch, best of rounds); ${r.cpu}; node ${r.node}`);
  console.log(`wasm: ${r.wasm.name} ${r.wasm.tiles}; native: ${r.native?.name ?? "unavailable"}`);
  console.log(`peaks per core: FMA ${(r.peak.ghz * r.peak.fmaFlopsPerCycle).toFixed(1)} GFLOP/s (${r.peak.fmaFlopsPerCycle} flops/cycle), SIMD128 mul+add ${r.peak.simd128MeasuredGflops.toFixed(1)} GFLOP/s (measured)`);
  console.log(`load average before: ${r.loadavgBefore.map((v) => v.toFixed(1)).join(" ")}, after: ${r.loadavgAfter.map((v) => v.toFixed(1)).join(" ")}`);
  const lines = [["M", "K x N", "wasm", "native", "wasm/native", "wasm % FMA peak", "wasm % SIMD128 peak"]];
  for (const row of r.rows) {
    lines.push([
      String(row.m),
      `${row.k}x${row.n}`,
      row.wasmGflops.toFixed(1),
      row.nativeGflops?.toFixed(1) ?? "-",
      row.wasmOverNative ? `${(100 * row.wasmOverNative).toFixed(0)}%` : "-",
      `${(100 * row.wasmFmaPeakFraction).toFixed(0)}%`,
      `${(100 * row.wasmSimd128PeakFraction).toFixed(0)}%`,
    ]);
  }
  const widths = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  for (const l of lines) console.log(l.map((c, i) => c.padStart(widths[i])).join("  "));
  const ratios = r.rows.filter((x) => x.wasmOverNative).map((x) => x.wasmOverNative!);
  if (ratios.length) {
    const geo = Math.exp(ratios.reduce((s, x) => s + Math.log(x), 0) / ratios.length);
    console.log(`wasm / native (1 thread): geometric mean ${(100 * geo).toFixed(0)}%`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runWasmGemmBench();
  printTable(result);
  const dir = join(benchDir, "results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "wasm-gemm.json"), `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote ${join(dir, "wasm-gemm.json")}`);
}
