/**
 * GEMM throughput of the native backend's linear kernel (y = x . W^T, W packed once) at BERT shapes,
 * next to numpy's OpenBLAS on the same shapes in the same run, on 1 thread and on all threads.
 *
 *   npm run bench:gemm        (or: node --import tsx bench/gemm.ts)
 *
 * Prints a table and writes bench/results/gemm.json. GFLOP/s = 2 M N K / median time of a batch of
 * runs. Both sides write into a preallocated output and use float32. numpy runs in a subprocess
 * (bench/gemm_numpy.py --serve, one per thread count) with OPENBLAS_NUM_THREADS set and
 * OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE removed from its environment (they pin OpenBLAS to a slower
 * kernel). The two sides alternate shape by shape, for several rounds, and each side keeps its best
 * round: on a machine shared with other work both are measured under the same conditions.
 * Env: BERT_TS_BENCH_RUNS (minimum runs per batch, default 7), BERT_TS_BENCH_SECONDS (target seconds
 * per batch, default 0.3), BERT_TS_BENCH_ROUNDS (default 3), BERT_TS_BENCH_PYTHON (default python3),
 * BERT_TS_KERNELS (older name BERT_TS_NATIVE_ISA).
 */
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { availableParallelism, cpus, loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { loadNativeAddon, type NativeAddon } from "../src/backend/native.js";
import { randomArray, secondsPerCall } from "./timing.js";

const benchDir = dirname(fileURLToPath(import.meta.url));

export const GEMM_M = [128, 512, 2048];
/** [K, N] of BERT-small/base layers: attention projections, FFN up and down. */
export const GEMM_KN: [number, number][] = [
  [384, 384],
  [384, 1536],
  [1536, 384],
  [768, 768],
  [768, 3072],
  [3072, 768],
];

export interface GemmRow {
  m: number;
  k: number;
  n: number;
  threads: number;
  oursGflops: number;
  numpyGflops: number | null;
  ratio: number | null;
}

export interface GemmBenchResult {
  date: string;
  cpu: string;
  node: string;
  loadavgBefore: number[];
  native: { isa: string; tiles: string; threadCounts: number[] };
  numpy: Record<string, unknown> | { error: string };
  rows: GemmRow[];
}

function timeOurs(addon: NativeAddon, isa: number, m: number, k: number, n: number, minRuns: number, seconds: number) {
  const x = randomArray(m * k, 1);
  const handle = addon.prepareLinear(isa, randomArray(n * k, 2), 0, null, n, k);
  const y = new Float32Array(m * n);
  // Wall clock: the numpy side is timed by the wall clock too, and the threaded rows need it.
  const seconds1 = secondsPerCall(() => addon.linear(handle, x, m, 0, y), { minRuns, seconds, maxRuns: 200, clock: "wall" });
  addon.freeLinear(handle);
  return (2 * m * n * k) / seconds1 / 1e9;
}

/** A numpy subprocess answering one shape per request line (bench/gemm_numpy.py --serve). */
class NumpyServer {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: string[] = [];
  private waiting: ((line: string | null) => void) | undefined;
  private buffer = "";
  private ended = false;
  private stderr = "";

  constructor(threads: number) {
    const env: NodeJS.ProcessEnv = { ...process.env, OPENBLAS_NUM_THREADS: String(threads), OMP_NUM_THREADS: String(threads) };
    delete env.OPENBLAS_CORETYPE;
    delete env.OPENBLAS_L2_SIZE;
    const python = process.env.BERT_TS_BENCH_PYTHON || "python3";
    this.child = spawn(python, [join(benchDir, "gemm_numpy.py"), "--serve"], { env });
    this.child.stdout.setEncoding("utf8");
    this.child.stdout.on("data", (chunk: string) => {
      this.buffer += chunk;
      let nl: number;
      while ((nl = this.buffer.indexOf("\n")) >= 0) {
        this.push(this.buffer.slice(0, nl));
        this.buffer = this.buffer.slice(nl + 1);
      }
    });
    this.child.stderr.on("data", (chunk: Buffer) => (this.stderr += chunk.toString()));
    const end = () => {
      this.ended = true;
      this.waiting?.(null);
      this.waiting = undefined;
    };
    this.child.on("close", end);
    this.child.on("error", (e) => {
      this.stderr += e.message;
      end();
    });
  }

  private push(line: string): void {
    if (this.waiting) {
      const w = this.waiting;
      this.waiting = undefined;
      w(line);
    } else this.lines.push(line);
  }

  async next(): Promise<Record<string, unknown>> {
    const line =
      this.lines.shift() ?? (this.ended ? null : await new Promise<string | null>((resolve) => (this.waiting = resolve)));
    if (line === null) throw new Error(`bench/gemm_numpy.py stopped: ${this.stderr.trim().split("\n").pop() ?? ""}`);
    return JSON.parse(line) as Record<string, unknown>;
  }

  async time(m: number, k: number, n: number, minRuns: number, seconds: number): Promise<number> {
    this.child.stdin.write(`${JSON.stringify([m, k, n, minRuns, seconds])}\n`);
    return Number((await this.next()).gflops);
  }

  close(): void {
    this.child.stdin.end();
  }
}

export async function runGemmBench(options: { threadCounts?: number[]; print?: boolean } = {}): Promise<GemmBenchResult> {
  const { addon, reason } = loadNativeAddon();
  if (!addon) throw new Error(`the native addon is not built (${reason}); run \`npm run build:native\``);
  const info = addon.info();
  const isaName = process.env.BERT_TS_KERNELS || process.env.BERT_TS_NATIVE_ISA || info.best;
  const isa = addon.isaIndex(isaName);
  const all = availableParallelism();
  const threadCounts = options.threadCounts ?? (all > 1 ? [1, all] : [1]);
  const minRuns = Number(process.env.BERT_TS_BENCH_RUNS ?? 7);
  const seconds = Number(process.env.BERT_TS_BENCH_SECONDS ?? 0.3);
  const rounds = Number(process.env.BERT_TS_BENCH_ROUNDS ?? 3);
  const shapes: [number, number, number][] = [];
  for (const m of GEMM_M) for (const [k, n] of GEMM_KN) shapes.push([m, k, n]);

  const result: GemmBenchResult = {
    date: new Date().toISOString(),
    cpu: cpus()[0]?.model ?? "unknown",
    node: process.version,
    loadavgBefore: loadavg(),
    native: { isa: isaName, tiles: info.tiles[isaName] ?? "", threadCounts },
    numpy: {},
    rows: [],
  };
  const threadsBefore = info.threads;
  try {
    for (const threads of threadCounts) {
      addon.setThreads(threads);
      let numpy: NumpyServer | undefined = new NumpyServer(threads);
      try {
        result.numpy = (await numpy.next()).blas as Record<string, unknown>;
      } catch (e) {
        result.numpy = { error: e instanceof Error ? e.message : String(e) };
        numpy = undefined;
      }
      const ours = shapes.map(() => 0);
      const theirs = shapes.map(() => 0);
      for (let round = 0; round < rounds; round++) {
        for (let i = 0; i < shapes.length; i++) {
          const [m, k, n] = shapes[i];
          ours[i] = Math.max(ours[i], timeOurs(addon, isa, m, k, n, minRuns, seconds));
          if (numpy) theirs[i] = Math.max(theirs[i], await numpy.time(m, k, n, minRuns, seconds));
        }
      }
      numpy?.close();
      shapes.forEach(([m, k, n], i) => {
        const np = numpy ? theirs[i] : null;
        result.rows.push({ m, k, n, threads, oursGflops: ours[i], numpyGflops: np, ratio: np ? ours[i] / np : null });
      });
    }
  } finally {
    addon.setThreads(threadsBefore);
  }
  if (options.print ?? true) printTable(result);
  return result;
}

function printTable(r: GemmBenchResult): void {
  const blas = r.numpy as Record<string, unknown>;
  const blasName = blas.error ? `numpy unavailable: ${String(blas.error)}` : `numpy ${String(blas.numpy)}: ${String(blas.config ?? JSON.stringify(blas.threadpoolctl ?? blas.show_config))}`;
  console.log(`GEMM y = x . W^T (float32), GFLOP/s (median of a batch, best of rounds); ${r.cpu}; node ${r.node}`);
  console.log(`ours: native ${r.native.isa} ${r.native.tiles}; ${blasName}`);
  console.log(`load average before: ${r.loadavgBefore.map((v) => v.toFixed(2)).join(" ")}`);
  const header = ["M", "K x N"];
  for (const t of r.native.threadCounts) header.push(`ours ${t}T`, `numpy ${t}T`, "ratio");
  const lines: string[][] = [header];
  const byShape = new Map<string, GemmRow[]>();
  for (const row of r.rows) {
    const key = `${row.m} ${row.k}x${row.n}`;
    byShape.set(key, [...(byShape.get(key) ?? []), row]);
  }
  const ratios = new Map<number, number[]>();
  for (const rows of byShape.values()) {
    const line = [String(rows[0].m), `${rows[0].k}x${rows[0].n}`];
    for (const row of rows) {
      line.push(row.oursGflops.toFixed(1), row.numpyGflops?.toFixed(1) ?? "-", row.ratio ? `${(100 * row.ratio).toFixed(0)}%` : "-");
      if (row.ratio) ratios.set(row.threads, [...(ratios.get(row.threads) ?? []), row.ratio]);
    }
    lines.push(line);
  }
  const widths = header.map((_, i) => Math.max(...lines.map((l) => (l[i] ?? "").length)));
  for (const l of lines) console.log(l.map((c, i) => c.padStart(widths[i])).join("  "));
  for (const [t, rs] of ratios) {
    const geo = Math.exp(rs.reduce((s, x) => s + Math.log(x), 0) / rs.length);
    console.log(`${t} thread(s): ours / OpenBLAS geometric mean ${(100 * geo).toFixed(0)}%, min ${(100 * Math.min(...rs)).toFixed(0)}%`);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const result = await runGemmBench();
  const dir = join(benchDir, "results");
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, "gemm.json"), `${JSON.stringify(result, null, 2)}\n`);
  console.log(`wrote ${join(dir, "gemm.json")}`);
}
