/**
 * The packed attention kernel at the shapes `embed` gives it, against another build of the addon in
 * the same run (the peer: BERT_TS_BASELINE_ADDON=path, e.g. main's native/build/Release/
 * bert_ts_native.node), shape by shape, alternating the two builds, on ONE thread, timed on process
 * CPU time (a loaded host takes turns on the cores; this measures the work), median of 7.
 *
 *   node --import tsx bench/attention.ts [--threads] [--isa avx512|avx2|generic] [--only TEXT]
 *
 * --only runs the shapes whose name contains TEXT (e.g. --only corpus).
 *
 * --threads also times every shape on all threads (wall clock): both threads should be busy.
 * Shapes: the license corpus as `embed` calls the kernel (length-sorted batches of 32 cut into blocks
 * of <= 256 rows, one QKV buffer: in cache), its own token counts in batches of 32 in file order
 * (MiniLM: 12 heads x 32; a fresh buffer per batch: from memory), 8- and
 * 16-token sentences, 256 x 128 tokens, bert-base 4 x 128 x (12 x 64), and one 512-token sequence.
 * FLOPs are 4·len²·headDim per (sequence, head) (QKᵀ and PV), against the 1-thread FMA probe.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";
import { NativeBackend, loadNativeAddon, type NativeAddon } from "../src/backend/native.js";
import type { LinearParams } from "../src/backend/backend.js";
import { rowBlocks } from "../src/models/bert/model.js";

interface Shape {
  name: string;
  lens: number[];
  heads: number;
  d: number;
  /** The calls' sequences when not batches of 32 in order; such calls share one QKV buffer. */
  calls?: number[][];
  /**
   * Each call's QKV written by the QKV projection (a float32 GEMM on the pool) right before it, as
   * in `embed`: the rows are then in the cache of the core whose GEMM task wrote them, not in both.
   * Only the attention calls are timed.
   */
  afterGemm?: boolean;
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

/**
 * The attention calls `embed` makes on the corpus: the CLI hands texts over 128 at a time, the encoder
 * sorts them by length and batches 32, and the model runs a batch in blocks of at most 256 rows
 * (whole sequences), one attention call per block and layer.
 */
function embedCalls(lens: number[]): number[][] {
  const calls: number[][] = [];
  for (let c = 0; c < lens.length; c += 128) {
    const sorted = lens.slice(c, c + 128).sort((a, b) => b - a);
    for (let b = 0; b < sorted.length; b += 32) {
      const starts = Int32Array.from([0, ...sorted.slice(b, b + 32)]);
      for (let i = 1; i < starts.length; i++) starts[i] += starts[i - 1];
      for (const block of rowBlocks(starts, 256)) calls.push(Array.from(block.seqStarts.subarray(1), (e, i) => e - block.seqStarts[i]));
    }
  }
  return calls;
}

function shapes(lens: number[]): Shape[] {
  const calls = embedCalls(lens);
  return [
    { name: `corpus as embed calls it (${calls.length} calls of <= 256 rows, length-sorted), 12 x 32`, lens, heads: 12, d: 32, calls },
    { name: `corpus as embed calls it, each after its QKV GEMM (${calls.length} calls), 12 x 32`, lens, heads: 12, d: 32, calls, afterGemm: true },
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
  /** afterGemm: the hidden states the QKV projection reads (rows x hidden) and its weights. */
  gemm?: { x: Float32Array; weight: Float32Array; bias: Float32Array; params: Map<NativeBackend, LinearParams> };
}

function prepare(s: Shape): Prepared {
  const hidden = s.heads * s.d;
  const batches: Prepared["batches"] = [];
  let flops = 0;
  if (s.calls) {
    // One QKV buffer and one context buffer for every call, as the model reuses its scratch: the
    // rows are in cache, as right after the QKV GEMM that wrote them, and the context stores do
    // not miss (a fresh context array per call made them ~30% of the kernel's samples).
    const most = Math.max(...s.calls.map((c) => c.reduce((a, b) => a + b, 0)));
    const qkv = Float32Array.from({ length: most * 3 * hidden }, (_, i) => Math.sin(i * 0.37));
    const ctx = new Float32Array(most * hidden);
    for (const lens of s.calls) {
      const starts = new Int32Array(lens.length + 1);
      lens.forEach((l, i) => (starts[i + 1] = starts[i] + l));
      const rows = starts[lens.length];
      batches.push({ qkv: qkv.subarray(0, rows * 3 * hidden), starts, ctx: ctx.subarray(0, rows * hidden) });
      for (const l of lens) flops += 4 * l * l * s.d * s.heads;
    }
    if (!s.afterGemm) return { batches, flops };
    // Small weights keep the scores in softmax's ordinary range; the values do not change the work.
    const weight = Float32Array.from({ length: 3 * hidden * hidden }, (_, i) => 0.05 * Math.sin(i * 0.61));
    const bias = Float32Array.from({ length: 3 * hidden }, (_, i) => 0.01 * Math.cos(i));
    const x = Float32Array.from({ length: most * hidden }, (_, i) => Math.sin(i * 0.13));
    return { batches, flops, gemm: { x, weight, bias, params: new Map() } };
  }
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
  if (p.gemm) {
    const g = p.gemm;
    const hidden = s.heads * s.d;
    let params = g.params.get(nb);
    if (!params) g.params.set(nb, (params = nb.prepareLinear(g.weight, g.bias, 3 * hidden, hidden)));
    let seconds = 0;
    for (let r = 0; r < reps; r++)
      for (const b of p.batches) {
        const rows = b.starts[b.starts.length - 1];
        nb.linear(g.x.subarray(0, rows * hidden), rows, params, "none", b.qkv);
        if (clock === "wall") {
          const w0 = performance.now();
          nb.attention(b.qkv, b.starts, s.heads, s.d, scale, false, b.ctx);
          seconds += (performance.now() - w0) / 1e3;
        } else {
          const c0 = process.cpuUsage();
          nb.attention(b.qkv, b.starts, s.heads, s.d, scale, false, b.ctx);
          const used = process.cpuUsage(c0);
          seconds += (used.user + used.system) / 1e6;
        }
      }
    return seconds / reps;
  }
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
  const only = args.includes("--only") ? args[args.indexOf("--only") + 1] : undefined;
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
    for (const s of shapes(lens).filter((x) => !only || x.name.includes(only))) {
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
