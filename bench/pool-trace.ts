/**
 * Reads the native thread pool's job trace (BERT_TS_POOL_TRACE=FILE, native/src/kernels/thread_pool.cc)
 * and says where a 2-thread run loses time inside the pool, per operation (issue 15, round 8):
 * how many jobs a helper was asleep for or never joined, how late it started, how long the caller
 * waited for it at the end, and the job time lost against an even split of each job's work, by cause.
 *
 *   BERT_TS_POOL_TRACE=/tmp/t.txt node bin/bert-ts.js embed ... >/dev/null
 *   node --import tsx bench/pool-trace.ts /tmp/t.txt [--addon path/to/bert_ts_native.node]
 *
 * Paired comparison of two settings over the same input (the jobs come in the same order, so job i
 * of one run is job i of the other; the median of the per-job ratios is far less noisy on a loaded
 * machine than process wall clock): runs A1 B1 A2 B2 ..., alternating.
 *
 *   node --import tsx bench/pool-trace.ts --pair A1.txt B1.txt A2.txt B2.txt ...
 */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

interface Job {
  fn: string;
  ntasks: number;
  helperTasks: number;
  asleep: boolean;
  start: number; // ns from publication to a helper's first claim, -1: none
  helperEnd: number; // ns to the end of the helpers' last task, -1: none
  callerEnd: number;
  end: number;
  gap: number;
}

function readTrace(path: string): Job[] {
  const jobs: Job[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (!line) continue;
    const f = line.split(" ");
    if (f.length !== 9) throw new Error(`${path}: expected 9 fields per line, got "${line}"`);
    const n = f.slice(1).map(Number);
    jobs.push({ fn: f[0], ntasks: n[0], helperTasks: n[1], asleep: n[2] === 1, start: n[3], helperEnd: n[4], callerEnd: n[5], end: n[6], gap: n[7] });
  }
  return jobs;
}

/** Task-function offsets -> names, from the addon's symbol table (nm), when nm is there. */
function taskNames(addon: string): Map<string, string> {
  const names = new Map<string, string>();
  try {
    for (const line of execFileSync("nm", ["-C", addon], { encoding: "utf8", maxBuffer: 64 << 20 }).split("\n")) {
      const m = /^([0-9a-f]+) [tT] (?:.*::)?(\w+_task)\(void\*, int\)$/.exec(line);
      if (m) names.set(BigInt(`0x${m[1]}`).toString(16), m[2]);
    }
  } catch {
    // no nm: offsets stay as they are
  }
  return names;
}

const pct = (sorted: number[], p: number) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] : NaN);
const ms = (ns: number) => (ns / 1e6).toFixed(1);
const us = (ns: number) => (ns / 1e3).toFixed(1);

/** Job time lost against an even split of the job's work between caller and helper (ns). */
function lost(j: Job): { noHelper: number; uneven: number } {
  if (j.ntasks < 2) return { noHelper: 0, uneven: 0 };
  if (j.start < 0) return { noHelper: j.end / 2, uneven: 0 };
  const even = (j.callerEnd + (j.helperEnd - j.start)) / 2;
  return { noHelper: 0, uneven: Math.max(0, j.end - even) };
}

function summary(path: string, addon: string): void {
  const jobs = readTrace(path);
  const names = taskNames(addon);
  const byFn = new Map<string, Job[]>();
  for (const j of jobs) byFn.set(j.fn, [...(byFn.get(j.fn) ?? []), j]);
  const total = jobs.reduce((s, j) => s + j.end, 0);
  console.log(`${path}: ${jobs.length} jobs, ${ms(total)} ms in the pool`);
  console.log("| task | jobs | tasks/job | helper's tasks | helper asleep | no helper | start p50 / p90 us | job ms | caller waited ms | lost: no helper / uneven ms |");
  console.log("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  const rows = [...byFn.entries()].sort((a, b) => b[1].reduce((s, j) => s + j.end, 0) - a[1].reduce((s, j) => s + j.end, 0));
  for (const [fn, js] of rows) {
    const tasks = js.reduce((s, j) => s + j.ntasks, 0);
    const starts = js.filter((j) => j.start >= 0).map((j) => j.start).sort((a, b) => a - b);
    const l = js.map(lost);
    console.log(
      `| ${names.get(fn) ?? fn} | ${js.length} | ${(tasks / js.length).toFixed(1)} | ${((100 * js.reduce((s, j) => s + j.helperTasks, 0)) / tasks).toFixed(0)}% | ` +
        `${js.filter((j) => j.asleep).length} | ${js.filter((j) => j.ntasks > 1 && j.start < 0).length} | ${us(pct(starts, 0.5))} / ${us(pct(starts, 0.9))} | ` +
        `${ms(js.reduce((s, j) => s + j.end, 0))} | ${ms(js.reduce((s, j) => s + j.end - j.callerEnd, 0))} | ` +
        `${ms(l.reduce((s, x) => s + x.noHelper, 0))} / ${ms(l.reduce((s, x) => s + x.uneven, 0))} |`,
    );
  }
  const bands: [string, number, number][] = [["< 10 us", 0, 10e3], ["10-50 us", 10e3, 50e3], ["50-200 us", 50e3, 200e3], ["> 200 us", 200e3, Infinity]];
  const uneven = jobs.map((j) => lost(j).uneven);
  const noHelper = jobs.reduce((s, j) => s + lost(j).noHelper, 0);
  console.log(
    `lost against an even split: ${ms(noHelper)} ms in jobs no helper joined; uneven ends by size per job: ` +
      bands.map(([name, lo, hi]) => { const v = uneven.filter((x) => x >= lo && x < hi); return `${name} ${v.length} jobs ${ms(v.reduce((s, x) => s + x, 0))} ms`; }).join(", "),
  );
  const gaps = jobs.slice(1).map((j) => j.gap);
  const short = gaps.filter((g) => g < 300e3), long = gaps.filter((g) => g >= 300e3).sort((a, b) => a - b);
  console.log(`caller outside the pool: ${short.length} gaps < 300 us (${ms(short.reduce((s, g) => s + g, 0))} ms), ${long.length} longer (${ms(long.reduce((s, g) => s + g, 0))} ms, median ${us(pct(long, 0.5))} us)`);
}

function paired(files: string[]): void {
  if (files.length < 2 || files.length % 2) throw new Error("--pair takes runs A1 B1 A2 B2 ... (an even number of trace files)");
  const ratios: number[] = [];
  let sumA = 0, sumB = 0;
  for (let i = 0; i < files.length; i += 2) {
    const a = readTrace(files[i]), b = readTrace(files[i + 1]);
    if (a.length !== b.length) throw new Error(`${files[i]} has ${a.length} jobs, ${files[i + 1]} ${b.length}: not the same input and split`);
    a.forEach((ja, k) => { if (ja.ntasks > 1 && ja.end > 0) ratios.push(b[k].end / ja.end); });
    // Job time without each run's slowest 2% (the jobs a time slice elsewhere stretched).
    const trim = (js: Job[]) => js.map((j) => j.end).sort((x, y) => x - y).slice(0, Math.floor(js.length * 0.98)).reduce((s, x) => s + x, 0);
    sumA += trim(a);
    sumB += trim(b);
  }
  ratios.sort((x, y) => x - y);
  console.log(`${ratios.length} paired jobs: B/A per job median ${pct(ratios, 0.5).toFixed(4)} (p25 ${pct(ratios, 0.25).toFixed(3)}, p75 ${pct(ratios, 0.75).toFixed(3)}); job time without the slowest 2%: B/A ${(sumB / sumA).toFixed(4)}`);
}

const args = process.argv.slice(2);
if (args[0] === "--pair") paired(args.slice(1));
else if (args.length >= 1) {
  const i = args.indexOf("--addon");
  summary(args[0], i >= 0 ? args[i + 1] : join(dirname(fileURLToPath(import.meta.url)), "..", "native", "build", "Release", "bert_ts_native.node"));
} else {
  console.error("usage: bench/pool-trace.ts TRACE [--addon ADDON] | --pair A1 B1 [A2 B2 ...]");
  process.exit(1);
}
