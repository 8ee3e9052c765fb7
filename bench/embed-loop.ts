/**
 * The embedding loop's time outside the native kernels (issue 15): `bert-ts embed` of the corpus
 * (MiniLM-L6 f16, batch 32, JSONL), per dtype, this build against another build of bert-ts taking
 * turns in the same minutes (BENCH_BASE=/path/to/other/checkout, with its dist/ and native/build;
 * without it, this build alone). Per run:
 *   - 2 threads (default): the loop's wall clock (from the CLI's "pooling" line to its "embedded"
 *     line), the native operations' wall clock (BERT_TS_PROFILE=1), and the gap between them — the
 *     main thread's time in JS (tokenising, gathering, output, GC, glue);
 *   - BERT_TS_THREADS=1: the loop's process CPU time and the native operations' CPU time, so the
 *     JS share is measured in CPU time, which a loaded host disturbs less than wall clock.
 * Medians of BENCH_RUNS (default 3) runs; the outputs of the two builds must be byte-identical.
 *   node --import tsx bench/embed-loop.ts [float32 int8 bf16]
 */
import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const SHARED = process.env.BERT_TS_SHARED ?? join(ROOT, "..", "shared");
const MODEL = join(process.env.BERT_TS_MODELS ?? join(SHARED, "models"), "minilm-l6-h384-random");
const CORPUS = process.env.BERT_TS_CORPUS ?? join(SHARED, "corpus", "license-sentences.txt");
const PRELOAD = join(ROOT, "bench", "embed-loop-preload.cjs");
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const BASE = process.env.BENCH_BASE;
const dtypes = process.argv.slice(2).length ? process.argv.slice(2) : ["int8", "float32"];

interface Run {
  loopMs: number;
  nativeMs: number;
  output: string;
}

/** One `embed` run of the build in `root`: the loop's and the native operations' time (wall with 2 threads, CPU with 1). */
function run(root: string, dtype: string, oneThread: boolean): Run {
  const env = { ...process.env, BERT_TS_PROFILE: "1", ...(oneThread ? { BERT_TS_THREADS: "1" } : {}) };
  const args = ["-r", PRELOAD, join(root, "bin", "bert-ts.js"), "embed", "-m", MODEL, "--input", CORPUS, "--batch-size", "32", "--dtype", dtype, "--format", "jsonl", "--no-progress"];
  const res = spawnSync(process.execPath, args, { env, encoding: "utf8", maxBuffer: 1 << 30 });
  if (res.status !== 0) throw new Error(`${root}: embed failed: ${res.stderr}`);
  const loop = /EMBED-LOOP cpu_ms=([\d.]+) wall_ms=([\d.]+)/.exec(res.stderr);
  const total = /^total\s+([\d.]+)\s+([\d.]+)/m.exec(res.stderr);
  if (!loop || !total) throw new Error(`${root}: no loop or native profile line in:\n${res.stderr}`);
  return {
    loopMs: Number(oneThread ? loop[1] : loop[2]),
    nativeMs: Number(oneThread ? total[2] : total[1]),
    output: res.stdout,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const builds = BASE ? [["base", BASE], ["this", ROOT]] : [["this", ROOT]];
const rows: string[][] = [];
console.log(`embed loop, corpus ${CORPUS.split("/").pop()} (986 sentences), batch 32; ${RUNS} runs each, builds taking turns; load average ${loadavg()[0].toFixed(1)} at start`);
for (const dtype of dtypes) {
  for (const oneThread of [false, true]) {
    const got = new Map<string, Run[]>(builds.map(([name]) => [name, []]));
    for (let r = 0; r < RUNS; r++) for (const [name, root] of builds) got.get(name)!.push(run(root, dtype, oneThread));
    if (BASE && got.get("base")![0].output !== got.get("this")![0].output) throw new Error(`${dtype}: the two builds wrote different output`);
    for (const [name] of builds) {
      const runs = got.get(name)!;
      const loop = median(runs.map((x) => x.loopMs));
      const native = median(runs.map((x) => x.nativeMs));
      const gap = median(runs.map((x) => x.loopMs - x.nativeMs));
      rows.push([dtype, oneThread ? "1 thread, CPU ms" : "2 threads, wall ms", name, loop.toFixed(0), native.toFixed(0), gap.toFixed(0), `${((100 * gap) / loop).toFixed(1)}%`]);
    }
  }
}
const head = ["dtype", "measure", "build", "loop", "native ops", "loop − native", "share"];
const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (r: string[]) => r.map((c, i) => (i >= 3 ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ");
console.log(line(head));
for (const r of rows) console.log(line(r));
console.log(`load average ${loadavg()[0].toFixed(1)} at the end`);
