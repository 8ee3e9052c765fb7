/**
 * The int8 / bf16 linear layers as `embed` runs them (issue 15, Part B): MiniLM-L6's four linear
 * layers per encoder layer (QKV 1152x384, output 384x384 + add + LayerNorm, FFN up 1536x384 + GELU,
 * FFN down 384x1536 + add + LayerNorm) over 6 layers with their own weights (so W comes from L3 as
 * in the model, not from L2 as in a loop over one layer), on blocks of `--rows` rows (default 212,
 * the corpus' mean block: the model runs a layer over at most 256 rows of whole sequences at a
 * time, so a linear call is ~0.1-0.3 ms). Per op, GOPS from every call's wall clock (10th percentile:
 * the calls no other process interrupted, what a quiet machine gives; and the median) and from the
 * process CPU time (user + sys of every thread: spinning and waiting count), each as a share of the
 * matching VNNI / BF16 probe. With BERT_TS_BASELINE_ADDON=path another build of the addon runs in
 * the same process, the two taking turns pass by pass. `--parts` adds the ops without their
 * LayerNorm / GELU (what those cost).
 *
 *   node --import tsx bench/lowp-layers.ts [--dtype int8|bf16] [--rows 212] [--threads N] [--reps 60] [--layers 6] [--parts]
 */
import { createRequire } from "node:module";
import { NativeBackend, loadNativeAddon, type NativeAddon } from "../src/backend/native.js";
import type { LinearParams } from "../src/backend/backend.js";

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : dflt);
const dtype = opt("--dtype", "int8") as "int8" | "bf16";
const rows = Number(opt("--rows", "212"));
const [h, ff] = [384, 1536];
const layers = Number(opt("--layers", "6"));

interface Op {
  name: string;
  n: number;
  k: number;
  run(nb: NativeBackend, l: number): void;
}

interface Build {
  label: string;
  addon: NativeAddon;
  nb: NativeBackend;
  w: { qkv: LinearParams; out: LinearParams; up: LinearParams; down: LinearParams }[];
}

const fill = (n: number, f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));
const x = fill(rows * h, (i) => Math.sin(i * 0.7));
const inner = fill(rows * ff, (i) => Math.max(0, Math.sin(i * 0.3)) - 0.05);
const residual = fill(rows * h, (i) => Math.cos(i * 0.11));
const yq = new Float32Array(rows * 3 * h), yh = new Float32Array(rows * h), yf = new Float32Array(rows * ff);
const norm = { gamma: fill(h, (i) => 1 + 0.01 * Math.sin(i)), beta: fill(h, (i) => 0.01 * Math.cos(i)), eps: 1e-12 };

function build(label: string, addon: NativeAddon): Build {
  const nb = new NativeBackend(addon, undefined, dtype);
  const dense = (n: number, k: number, seed: number) => nb.prepareLinear(fill(n * k, (i) => Math.cos(i * 0.37 + seed) * 0.05), fill(n, (i) => 0.01 * Math.sin(i)), n, k);
  const w = Array.from({ length: layers }, (_, l) => ({ qkv: dense(3 * h, h, l), out: dense(h, h, l + 10), up: dense(ff, h, l + 20), down: dense(h, ff, l + 30) }));
  return { label, addon, nb, w };
}

function opsOf(b: Build): Op[] {
  if (args.includes("--parts"))
    return [
      { name: `QKV ${3 * h}x${h}`, n: 3 * h, k: h, run: (nb, l) => nb.linear(x, rows, b.w[l].qkv, "none", yq) },
      { name: `out ${h}x${h}`, n: h, k: h, run: (nb, l) => nb.linear(x, rows, b.w[l].out, "none", yh) },
      { name: `out ${h}x${h} + add + LN`, n: h, k: h, run: (nb, l) => nb.linearAddLayerNorm(x, rows, b.w[l].out, residual, norm, yh) },
      { name: `FFN up ${ff}x${h}`, n: ff, k: h, run: (nb, l) => nb.linear(x, rows, b.w[l].up, "none", yf) },
      { name: `FFN up ${ff}x${h} + GELU`, n: ff, k: h, run: (nb, l) => nb.linear(x, rows, b.w[l].up, "gelu", yf) },
      { name: `FFN down ${h}x${ff}`, n: h, k: ff, run: (nb, l) => nb.linear(inner, rows, b.w[l].down, "none", yh) },
      { name: `FFN down ${h}x${ff} + add + LN`, n: h, k: ff, run: (nb, l) => nb.linearAddLayerNorm(inner, rows, b.w[l].down, residual, norm, yh) },
    ];
  return [
    { name: `QKV ${3 * h}x${h}`, n: 3 * h, k: h, run: (nb, l) => nb.linear(x, rows, b.w[l].qkv, "none", yq) },
    { name: `out ${h}x${h} + add + LN`, n: h, k: h, run: (nb, l) => nb.linearAddLayerNorm(x, rows, b.w[l].out, residual, norm, yh) },
    { name: `FFN up ${ff}x${h} + GELU`, n: ff, k: h, run: (nb, l) => nb.linear(x, rows, b.w[l].up, "gelu", yf) },
    { name: `FFN down ${h}x${ff} + add + LN`, n: h, k: ff, run: (nb, l) => nb.linearAddLayerNorm(inner, rows, b.w[l].down, residual, norm, yh) },
  ];
}

const cpuNow = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
};

/** Every call's wall-clock and process CPU seconds, per build and op. */
interface Calls {
  wall: number[][];
  cpu: number[][];
}

const pause = new Int32Array(new SharedArrayBuffer(4));

/**
 * `reps` passes over the layers, the builds taking turns pass by pass (the order flipping every
 * pass), so both see the same machine: a busy host's load changes second by second. Between turns
 * the caller waits 2 ms, so the other build's pool workers (spinning ~0.3 ms after a job) are asleep
 * and do not take a core from this one. Within a pass the calls follow each other as in the model;
 * the pass's first call (a sleeping pool to wake) is not kept.
 */
function interleaved(builds: Build[], ops: Op[][], reps: number, into: Calls[]): void {
  for (let r = 0; r < reps; r++)
    for (let j = 0; j < builds.length; j++) {
      const b = r % 2 ? builds.length - 1 - j : j;
      Atomics.wait(pause, 0, 0, 2);
      for (let l = 0; l < layers; l++)
        for (let i = 0; i < ops[b].length; i++) {
          const c0 = cpuNow(), w0 = performance.now();
          ops[b][i].run(builds[b].nb, l);
          if (l === 0 && i === 0) continue;
          into[b].wall[i].push((performance.now() - w0) / 1000);
          into[b].cpu[i].push(cpuNow() - c0);
        }
    }
}

const { addon, reason } = loadNativeAddon();
if (!addon) {
  console.log(`lowp-layers bench: skipped (${reason})`);
} else {
  const threads = Number(opt("--threads", String(addon.info().threads)));
  const basePath = process.env.BERT_TS_BASELINE_ADDON;
  const builds = [build("this build", addon)];
  if (basePath) builds.push(build("baseline", createRequire(import.meta.url)(basePath) as NativeAddon));
  for (const b of builds) b.addon.setThreads(threads);
  const isa = addon.isaIndex(addon.info().best);
  const kind = dtype === "int8" ? 1 : 2;
  const probe1 = addon.peak(isa, kind, 1), probeN = addon.peak(isa, kind, threads);
  const ops = builds.map(opsOf);
  const reps = Number(opt("--reps", "60"));
  const fresh = () => builds.map(() => ({ wall: ops[0].map(() => [] as number[]), cpu: ops[0].map(() => [] as number[]) }));
  interleaved(builds, ops, 1, fresh());
  const calls = fresh();
  interleaved(builds, ops, reps, calls);
  const n = reps * layers;
  const quantile = (a: number[], q: number) => [...a].sort((p, q2) => p - q2)[Math.floor(q * (a.length - 1))];
  const sum = (a: number[]) => a.reduce((s2, v) => s2 + v, 0);
  console.log(`${dtype} linear layers, MiniLM shapes, ${rows}-row blocks x ${layers} layers, ${threads} thread(s), ${n} calls per op${basePath ? ", the two builds taking turns call by call" : ""}`);
  console.log(`probes: ${probe1.toFixed(0)} GOPS on 1 thread, ${probeN.toFixed(0)} on ${threads}`);
  console.log(`GOPS: per call wall clock, 10th percentile and median (% of the ${threads}-thread probe); process CPU time of all calls (% of ${threads} x the 1-thread probe)`);
  const cols = ["p10 wall", "median wall", "cpu"];
  console.log(`| op | ${builds.flatMap((b) => cols.map((c) => `${b.label} ${c}`)).join(" | ")} |${basePath ? " p10 ratio | median ratio | cpu ratio |" : ""}`);
  console.log(`| --- |${builds.flatMap(() => cols.map(() => " ---: |")).join("")}${basePath ? " ---: | ---: | ---: |" : ""}`);
  const totals = builds.map(() => [0, 0, 0]);
  let flopsAll = 0;
  ops[0].forEach((op, i) => {
    const flops = 2 * rows * op.n * op.k;
    flopsAll += flops;
    const secs = builds.map((_, b) => [quantile(calls[b].wall[i], 0.1), quantile(calls[b].wall[i], 0.5), sum(calls[b].cpu[i]) / calls[b].cpu[i].length]);
    secs.forEach((s3, b) => s3.forEach((v, c) => (totals[b][c] += v)));
    const cells = secs.flatMap((s3) => [
      `${(flops / s3[0] / 1e9).toFixed(0)} (${((100 * flops) / s3[0] / 1e9 / probeN).toFixed(0)}%)`,
      `${(flops / s3[1] / 1e9).toFixed(0)} (${((100 * flops) / s3[1] / 1e9 / probeN).toFixed(0)}%)`,
      `${(flops / s3[2] / 1e9 * threads).toFixed(0)} (${((100 * flops) / s3[2] / 1e9 / probe1).toFixed(0)}%)`,
    ]);
    if (basePath) cells.push(...[0, 1, 2].map((c) => `${(secs[1][c] / secs[0][c]).toFixed(3)}x`));
    console.log(`| ${op.name} | ${cells.join(" | ")} |`);
  });
  const cells = totals.flatMap((t) => [
    `${(flopsAll / t[0] / 1e9).toFixed(0)}`,
    `${(flopsAll / t[1] / 1e9).toFixed(0)}`,
    `${(flopsAll / t[2] / 1e9 * threads).toFixed(0)}`,
  ]);
  if (basePath) cells.push(...[0, 1, 2].map((c) => `${(totals[1][c] / totals[0][c]).toFixed(3)}x`));
  console.log(`| all four | ${cells.join(" | ")} |`);
  for (const b of builds) b.nb.dispose();
}
