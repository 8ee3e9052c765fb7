/**
 * The packed attention kernel at the shapes `embed` gives it, against another build of the addon in
 * the same run (the peer: BERT_TS_BASELINE_ADDON=path, e.g. main's native/build/Release/
 * bert_ts_native.node), shape by shape, alternating the two builds, on ONE thread, timed on process
 * CPU time (a loaded host takes turns on the cores; this measures the work), median of 7.
 *
 *   node --import tsx bench/attention.ts [--threads] [--isa avx512|avx2|generic]
 *
 * --threads also times every shape on all threads (wall clock): both threads should be busy.
 * Shapes: the license corpus's own token counts in batches of 32 (MiniLM: 12 heads x 32), 8- and
 * 16-token sentences, 256 x 128 tokens, bert-base 4 x 128 x (12 x 64), and one 512-token sequence.
 * FLOPs are 4·len²·headDim per (sequence, head) (QKᵀ and PV), against the 1-thread FMA probe.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { NativeBackend, loadNativeAddon, type NativeAddon } from "../src/backend/native.js";

interface Shape {
  name: string;
  lens: number[];
  heads: number;
  d: number;
}

const SHARED = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "shared");
const CORPUS = process.env.BERT_TS_CORPUS ?? join(SHARED, "corpus", "license-sentences.txt");

/** Token counts of the corpus' lines under the MiniLM tokenizer (capped at 256, as `embed` does). */
async function corpusLens(): Promise<number[]> {
  const { loadTokenizer } = await import("../src/tokenizers/index.js");
  const tok = await loadTokenizer(join(SHARED, "models", "minilm-l6-h384-random"));
  const texts = readFileSync(CORPUS, "utf8").split("\n").filter((l) => l.trim());
  return tok.encodeBatch(texts, { truncation: "longest_first", maxLength: 256 }).map((e) => e.inputIds.length);
}

function shapes(lens: number[]): Shape[] {
  return [
    { name: `corpus ${lens.length} sentences (mean ${(lens.reduce((a, b) => a + b, 0) / lens.length).toFixed(0)} tokens), 12 x 32`, lens, heads: 12, d: 32 },
    { name: "256 x 8 tokens, 12 x 32", lens: Array(256).fill(8), heads: 12, d: 32 },
    { name: "256 x 16 tokens, 12 x 32", lens: Array(256).fill(16), heads: 12, d: 32 },
    { name: "64 x 64 tokens, 12 x 32", lens: Array(64).fill(64), heads: 12, d: 32 },
    { name: "256 x 128 tokens, 12 x 32", lens: Array(256).fill(128), heads: 12, d: 32 },
    { name: "32 x 38 tokens, 12 x 64", lens: Array(32).fill(38), heads: 12, d: 64 },
    { name: "4 x 128 tokens, 12 x 64", lens: Array(4).fill(128), heads: 12, d: 64 },
    { name: "1 x 512 tokens, 12 x 64", lens: [512], heads: 12, d: 64 },
  ];
}

interface Prepared {
  batches: { qkv: Float32Array; starts: Int32Array; ctx: Float32Array }[];
  flops: number;
}

function prepare(s: Shape): Prepared {
  const hidden = s.heads * s.d;
  const batches: Prepared["batches"] = [];
  let flops = 0;
  for (let b = 0; b < s.lens.length; b += 32) {
    const lens = s.lens.slice(b, b + 32);
    const starts = new Int32Array(lens.length + 1);
    lens.forEach((l, i) => (starts[i + 1] = starts[i] + l));
    const rows = starts[lens.length];
    const qkv = Float32Array.from({ length: rows * 3 * hidden }, (_, i) => Math.sin(i * 0.37 + b));
    batches.push({ qkv, starts, ctx: new Float32Array(rows * hidden) });
    for (const l of lens) flops += 4 * l * l * s.d * s.heads;
  }
  return { batches, flops };
}

function timeOnce(nb: NativeBackend, s: Shape, p: Prepared, reps: number, clock: "cpu" | "wall"): number {
  const scale = 1 / Math.sqrt(s.d);
  const t0 = process.cpuUsage();
  const w0 = performance.now();
  for (let r = 0; r < reps; r++)
    for (const b of p.batches) nb.attention(b.qkv, b.starts, s.heads, s.d, scale, false, b.ctx);
  if (clock === "wall") return (performance.now() - w0) / 1e3 / reps;
  const used = process.cpuUsage(t0);
  return (used.user + used.system) / 1e6 / reps;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1];
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const isaArg = args.includes("--isa") ? args[args.indexOf("--isa") + 1] : undefined;
  const { addon, reason } = loadNativeAddon();
  if (!addon) {
    console.log(`attention bench: skipped (${reason})`);
    return;
  }
  const lens = await corpusLens();
  const basePath = process.env.BERT_TS_BASELINE_ADDON;
  const base = basePath ? (createRequire(import.meta.url)(basePath) as NativeAddon) : undefined;
  const threads = addon.info().threads;
  const isa = isaArg ?? addon.info().best;
  const probe1 = addon.peak(addon.isaIndex(addon.info().best), 0, 1);
  const builds: [string, NativeAddon][] = [["this build", addon]];
  if (base) builds.push(["baseline", base]);
  const nbs = builds.map(([, a]) => new NativeBackend(a, isa));
  console.log(`Attention, ${isa} kernels; 1-thread FMA probe ${probe1.toFixed(0)} GFLOP/s; ${base ? `baseline ${basePath}` : "no baseline (set BERT_TS_BASELINE_ADDON)"}`);
  const modes: [number, "cpu" | "wall"][] = [[1, "cpu"]];
  if (args.includes("--threads")) modes.push([threads, "wall"]);
  for (const [t, clock] of modes) {
    for (const [, a] of builds) a.setThreads(t);
    console.log(`\n${t} thread(s), ${clock === "cpu" ? "process CPU time" : "wall clock"}, median of 7, GFLOP/s:`);
    console.log(`| shape | this build | ${base ? "baseline | ratio | " : ""}% of ${t}-thread probe |`);
    console.log(`| --- | ---: | ${base ? "---: | ---: | " : ""}---: |`);
    for (const s of shapes(lens)) {
      const p = prepare(s);
      const reps = Math.max(1, Math.round(3e8 / p.flops));
      nbs.forEach((nb) => timeOnce(nb, s, p, 1, clock));
      const times = nbs.map(() => [] as number[]);
      for (let r = 0; r < 7; r++) nbs.forEach((nb, i) => times[i].push(timeOnce(nb, s, p, reps, clock)));
      const g = times.map((ts) => p.flops / median(ts) / 1e9);
      const row = [s.name, g[0].toFixed(1)];
      if (base) row.push(g[1].toFixed(1), `${(g[0] / g[1]).toFixed(2)}x`);
      row.push(`${((100 * g[0]) / (probe1 * t)).toFixed(0)}%`);
      console.log(`| ${row.join(" | ")} |`);
    }
  }
  for (const [, a] of builds) a.setThreads(threads);
  nbs.forEach((nb) => nb.dispose());
}

await main();
