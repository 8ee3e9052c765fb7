/**
 * End-to-end benchmark, measured the way a user runs things: whole processes, model load included.
 *   1. sentences/s: `bert-ts embed --input FILE --batch-size N --output FILE` vs transformers.js
 *      (onnxruntime, fp32 ONNX export of the same weights, same pooling) on the 986-sentence
 *      corpus and on 128-token inputs, batch 1 and 32; plus the embeddings' agreement (cosine).
 *   2. A bert-base-shaped model (seeded random weights generated on demand) at 128 tokens:
 *      sentences/s and achieved GFLOP/s next to numpy/OpenBLAS sgemm on the same machine.
 *   3. The encoder families at their base shapes (BERT, MPNet, XLM-RoBERTa; seeded random weights):
 *      sentences/s of the forward pass alone on 32 × 128 token ids.
 *   4. Cold model load time and peak RSS (f16 and f32 files; transformers.js alongside).
 * Medians of several runs; a table is printed and JSON written to bench/results/e2e.json.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { BERT_BASE, MPNET_BASE, XLM_ROBERTA_BASE, makeFloat32Copy, makeRandomBert, type RandomModelShape } from "./make-random-model.js";
import { mulberry32 } from "../test/helpers/random.js";
import { PEERS_DIR, ensurePeers } from "./peers.js";
import { encoderFlops, limitPerSecond, measureFloat32LinearRate, measurePeaks, type Peaks } from "./limits.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");
const SHARED = process.env.BERT_TS_SHARED ?? join(ROOT, "..", "shared");
const MODELS = process.env.BERT_TS_MODELS ?? join(SHARED, "models");
const MINILM = join(MODELS, "minilm-l6-h384-random");
const CORPUS = process.env.BERT_TS_CORPUS ?? join(SHARED, "corpus", "license-sentences.txt");
const BIN = join(ROOT, "bin", "bert-ts.js");
const WORK = join(ROOT, "bench", "results", "e2e-work");
const RUNS = Number(process.env.BENCH_RUNS ?? 3);

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Wall-clock seconds of a whole process (median of `runs`). */
function timeProcess(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, runs = RUNS): number {
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const res = spawnSync(cmd, args, { encoding: "utf8", env: { ...process.env, ...env }, maxBuffer: 1 << 26 });
    if (res.status !== 0) throw new Error(`${cmd} ${args.join(" ")} failed:\n${res.stderr}`);
    times.push((performance.now() - t0) / 1000);
  }
  return median(times);
}

function readVectors(file: string): Float32Array[] {
  return readFileSync(file, "utf8").trim().split("\n").map((l) => Float32Array.from((JSON.parse(l) as { embedding: number[] }).embedding));
}

function minCosine(a: Float32Array[], b: Float32Array[]): number {
  let worst = 1;
  a.forEach((x, i) => {
    let ab = 0, aa = 0, bb = 0;
    for (let c = 0; c < x.length; c++) {
      ab += x[c] * b[i][c];
      aa += x[c] * x[c];
      bb += b[i][c] * b[i][c];
    }
    worst = Math.min(worst, ab / Math.sqrt(aa * bb));
  });
  return worst;
}

/** Texts of exactly `tokens` tokens (with [CLS]/[SEP]) built from corpus words with our tokenizer. */
async function fixedLengthTexts(count: number, tokens: number): Promise<string[]> {
  const { loadTokenizer } = await import("../src/tokenizers/index.js");
  const tok = await loadTokenizer(MINILM);
  const words = readFileSync(CORPUS, "utf8").split(/\s+/).filter(Boolean);
  const texts: string[] = [];
  let w = 0;
  while (texts.length < count) {
    const parts: string[] = [];
    while (tok.encode(parts.join(" ")).inputIds.length < tokens) parts.push(words[w++ % words.length]);
    while (tok.encode(parts.join(" ")).inputIds.length > tokens) parts.pop();
    if (tok.encode(parts.join(" ")).inputIds.length === tokens) texts.push(parts.join(" "));
  }
  return texts;
}

interface Row {
  scenario: string;
  texts: number;
  batch: number;
  oursSeconds: number;
  peerSeconds: number | null;
  oursPerSecond: number;
  peerPerSecond: number | null;
  ratio: number | null;
  minCosine: number | null;
}

async function embeddingRows(peers: boolean): Promise<Row[]> {
  mkdirSync(WORK, { recursive: true });
  const corpusLines = readFileSync(CORPUS, "utf8").split("\n").filter((l) => l.trim()).length;
  const long = join(WORK, "tokens128.txt");
  writeFileSync(long, (await fixedLengthTexts(256, 128)).join("\n") + "\n");
  const rows: Row[] = [];
  for (const [scenario, file, n] of [["corpus", CORPUS, corpusLines], ["128 tokens", long, 256]] as const) {
    for (const batch of [32, 1]) {
      const ours = join(WORK, `ours-${batch}.jsonl`);
      const peerOut = join(WORK, `peer-${batch}.jsonl`);
      const oursSeconds = timeProcess(process.execPath, [BIN, "embed", "--model", MINILM, "--input", file, "--batch-size", String(batch), "--output", ours, "--no-progress"]);
      let peerSeconds: number | null = null;
      let cos: number | null = null;
      if (peers) {
        peerSeconds = timeProcess(process.execPath, [join(PEERS_DIR, "embed-transformersjs.mjs"), "--model", MINILM, "--input", file, "--batch-size", String(batch), "--output", peerOut]);
        cos = minCosine(readVectors(ours), readVectors(peerOut));
      }
      rows.push({
        scenario,
        texts: n,
        batch,
        oursSeconds,
        peerSeconds,
        oursPerSecond: n / oursSeconds,
        peerPerSecond: peerSeconds === null ? null : n / peerSeconds,
        ratio: peerSeconds === null ? null : peerSeconds / oursSeconds,
        minCosine: cos,
      });
      printRow(rows[rows.length - 1]);
    }
  }
  return rows;
}

/** Token count of each line of a file as our MiniLM tokenizer counts them, capped at 256. */
async function fileLengths(file: string): Promise<number[]> {
  const { loadTokenizer } = await import("../src/tokenizers/index.js");
  const tok = await loadTokenizer(MINILM);
  const texts = readFileSync(file, "utf8").split("\n").filter((l) => l.trim());
  return tok.encodeBatch(texts, { truncation: "longest_first", maxLength: 256 }).map((e) => e.inputIds.length);
}

/** FLOPs MiniLM-L6 spends on the lines of a file. */
async function fileFlops(file: string): Promise<number> {
  return (await fileLengths(file)).reduce((s, len) => s + encoderFlops(len, 384, 1536, 6), 0);
}

interface DtypeRow {
  dtype: string;
  perSecond: number;
  vsFloat32: number;
  limitPerSecond: number;
  ofLimit: number;
}

/**
 * The most a whole float32 `embed` process could do on this machine right now, generously: Node's
 * own start (`node -e 0`, same environment) plus the linear layers alone at the rate the float32
 * GEMM measures in this run at the model's block size on all threads, and nothing else (no
 * attention, LayerNorm, tokenizer, load or output). It puts the "% of the FMA limit" beside what the
 * FMA limit leaves out: the GEMM's own distance from the register-only probe, and process start.
 */
interface Float32Ceiling {
  nodeStartSeconds: number;
  blockRows: number;
  linearGflops: number;
  perSecond: number;
}

/** Mean rows per layer call when `embed` batches these token counts (length-sorted, 32 a batch, ≤ 256-row blocks). */
async function meanBlockRows(lengths: number[], batch: number): Promise<number> {
  const { rowBlocks } = await import("../src/models/bert/model.js");
  const sorted = [...lengths].sort((a, b) => b - a);
  let blocks = 0;
  for (let i = 0; i < sorted.length; i += batch) {
    const chunk = sorted.slice(i, i + batch);
    const starts = new Int32Array(chunk.length + 1);
    chunk.forEach((len, s) => (starts[s + 1] = starts[s] + len));
    blocks += rowBlocks(starts, 256).length;
  }
  return sorted.reduce((a, b) => a + b, 0) / blocks;
}

/** One sample of the ceiling's two parts, taken in each round of the dtype runs (same spell of the host). */
async function ceilingSample(blockRows: number): Promise<{ nodeStartSeconds: number; linearGflops: number }> {
  const { loadNativeAddon } = await import("../src/backend/native.js");
  const addon = loadNativeAddon().addon!;
  return { nodeStartSeconds: timeProcess(process.execPath, ["-e", "0"], {}, 3), linearGflops: measureFloat32LinearRate(addon, blockRows, 384, 1536, 3) };
}

function float32Ceiling(texts: number, lengths: number[], blockRows: number, samples: { nodeStartSeconds: number; linearGflops: number }[]): Float32Ceiling {
  const nodeStartSeconds = median(samples.map((s) => s.nodeStartSeconds));
  const linearGflops = median(samples.map((s) => s.linearGflops));
  const linearFlops = lengths.reduce((s, len) => s + encoderFlops(len, 384, 1536, 6) - 6 * 4 * len * len * 384, 0);
  return { nodeStartSeconds, blockRows, linearGflops, perSecond: texts / (nodeStartSeconds + linearFlops / (linearGflops * 1e9)) };
}

/**
 * Corpus, batch 32, float32 / bf16 / int8 in rounds (one process each per round, so the host's
 * noise hits them alike), with the texts/s the matching peak probe allows beside each.
 */
async function dtypeRows(peaks: Peaks): Promise<{ rows: DtypeRow[]; ceiling: Float32Ceiling }> {
  const n = readFileSync(CORPUS, "utf8").split("\n").filter((l) => l.trim()).length;
  const lengths = await fileLengths(CORPUS);
  const flops = lengths.reduce((s, len) => s + encoderFlops(len, 384, 1536, 6), 0);
  const dtypes = ["float32", "bf16", "int8"] as const;
  const times = dtypes.map(() => [] as number[]);
  const blockRows = Math.round(await meanBlockRows(lengths, 32));
  const samples: { nodeStartSeconds: number; linearGflops: number }[] = [];
  for (let r = 0; r < RUNS; r++) {
    dtypes.forEach((dtype, i) =>
      times[i].push(timeProcess(process.execPath, [BIN, "embed", "--dtype", dtype, "--model", MINILM, "--input", CORPUS, "--batch-size", "32", "--output", join(WORK, `dtype-${dtype}.jsonl`), "--no-progress"], {}, 1)),
    );
    samples.push(await ceilingSample(blockRows));
  }
  const perSecond = times.map((t) => n / median(t));
  const rows = dtypes.map((dtype, i) => {
    const peak = dtype === "float32" ? peaks.fma[1] : dtype === "bf16" ? peaks.bf16[1] : peaks.int8[1];
    const limit = limitPerSecond(n, flops, peak);
    return { dtype, perSecond: perSecond[i], vsFloat32: perSecond[i] / perSecond[0], limitPerSecond: limit, ofLimit: perSecond[i] / limit };
  });
  return { rows, ceiling: float32Ceiling(n, lengths, blockRows, samples) };
}

function printDtypeTable({ rows, ceiling }: { rows: DtypeRow[]; ceiling: Float32Ceiling }): void {
  for (const d of rows) {
    console.log(`corpus batch 32 --dtype ${d.dtype.padEnd(7)} ${d.perSecond.toFixed(1).padStart(7)} sentences/s  ${d.vsFloat32.toFixed(2)}x float32  limit ${d.limitPerSecond.toFixed(0)}/s (${(100 * d.ofLimit).toFixed(0)}% of it)`);
  }
  const f32 = rows[0];
  console.log(
    `  float32 ceiling: Node's own start ${(1000 * ceiling.nodeStartSeconds).toFixed(0)} ms + the linear layers alone at ${ceiling.linearGflops.toFixed(0)} GFLOP/s ` +
      `(this run's float32 GEMM, ${ceiling.blockRows}-row calls, all threads) → ${ceiling.perSecond.toFixed(0)}/s = ${((100 * ceiling.perSecond) / f32.limitPerSecond).toFixed(0)}% of the limit; ` +
      `bert-ts reaches ${((100 * f32.perSecond) / ceiling.perSecond).toFixed(0)}% of that ceiling`,
  );
}

function printRow(r: Row): void {
  const f = (x: number | null, d = 1) => (x === null ? "-" : x.toFixed(d));
  console.log(
    `${r.scenario.padEnd(11)} batch ${String(r.batch).padStart(2)}  ${String(r.texts).padStart(4)} texts  bert-ts ${f(r.oursPerSecond).padStart(7)}/s  transformers.js ${f(r.peerPerSecond).padStart(7)}/s  ratio ${f(r.ratio, 2).padStart(5)}x  min cosine ${r.minCosine === null ? "-" : r.minCosine.toFixed(6)}`,
  );
}

/** numpy/OpenBLAS sgemm GFLOP/s at M=rows, K×N shapes of bert-base, all threads. */
function openBlasGflops(m: number): number | null {
  const script = `
import numpy as np, time
rng = np.random.default_rng(0)
best = []
for k, n in [(768, 768), (768, 3072), (3072, 768)]:
    a = rng.standard_normal((${m}, k), dtype=np.float32); b = rng.standard_normal((k, n), dtype=np.float32)
    a @ b
    t = []
    for _ in range(7):
        t0 = time.perf_counter(); a @ b; t.append(time.perf_counter() - t0)
    best.append(2 * ${m} * k * n / sorted(t)[3] / 1e9)
print(sum(best) / len(best))
`;
  try {
    const env = { ...process.env };
    delete env.OPENBLAS_CORETYPE; // slows current numpy here (see the machine notes); this subprocess only
    delete env.OPENBLAS_L2_SIZE;
    return Number(execFileSync("python3", ["-c", script], { encoding: "utf8", env }).trim());
  } catch {
    return null;
  }
}

async function bertBaseRow(): Promise<Record<string, number | string | null>> {
  const dir = makeRandomBert(join(ROOT, ".bench-models", "bert-base-random"), BERT_BASE, MINILM);
  const { SentenceEncoder } = await import("../src/pipelines/sentence-encoder.js");
  const encoder = await SentenceEncoder.load(dir, { pooling: "cls" });
  const tok = encoder.tokenizer;
  const texts = (await fixedLengthTexts(32, 128)).slice(0, 32);
  if (!texts.every((t) => tok.encode(t).inputIds.length === 128)) throw new Error("bert-base texts are not 128 tokens");
  await encoder.embed(texts.slice(0, 4)); // warm-up
  const times: number[] = [];
  for (let r = 0; r < Math.max(RUNS, 3); r++) {
    const t0 = performance.now();
    await encoder.embed(texts, { batchSize: 32 });
    times.push((performance.now() - t0) / 1000);
  }
  const seconds = median(times);
  const { hidden: h, intermediate: ff, layers } = BERT_BASE;
  const seq = 128;
  // Dense layers (QKV, output, FFN) and attention (QKᵀ and P·V) per sequence.
  const flopsPerSentence = layers * (2 * seq * (4 * h * h + 2 * h * ff) + 2 * 2 * seq * seq * h);
  const gflops = (flopsPerSentence * texts.length) / seconds / 1e9;
  const blas = openBlasGflops(32 * 128);
  return {
    backend: encoder.model.backend.name,
    sentencesPerSecond: texts.length / seconds,
    gflops,
    openBlasGflops: blas,
    fractionOfOpenBlas: blas === null ? null : gflops / blas,
  };
}

interface FamilyRow {
  family: string;
  backend: string;
  sentencesPerSecond: number;
}

/**
 * The forward pass alone (token ids in, so every family is measured alike whatever its tokenizer) on
 * 32 sequences of 128 random ids, one batch, at each family's base shape: MPNet adds its relative
 * attention bias, XLM-R has RoBERTa's layers and a 250,002-row embedding table.
 */
async function familyRows(): Promise<FamilyRow[]> {
  const { BertModel } = await import("../src/models/bert/model.js");
  const shapes: [string, RandomModelShape, string][] = [
    ["bert-base", BERT_BASE, MINILM],
    ["mpnet-base (all-mpnet-base-v2)", MPNET_BASE, join(MODELS, "mpnet-micro-random")],
    ["xlm-roberta-base (multilingual-e5-base)", XLM_ROBERTA_BASE, join(MODELS, "xlm-roberta-micro-random")],
  ];
  const rows: FamilyRow[] = [];
  for (const [family, shape, tokenizerFrom] of shapes) {
    const dir = makeRandomBert(join(ROOT, ".bench-models", `${shape.family ?? "bert"}-base-random`), shape, tokenizerFrom);
    const model = await BertModel.fromPretrained(dir);
    const rand = mulberry32(7);
    // First and last ids stand for the special tokens; the rest avoid the low (special) ids.
    const inputs = Array.from({ length: 32 }, () => ({ inputIds: Array.from({ length: 128 }, (_, t) => (t === 0 ? 0 : t === 127 ? 2 : 1000 + Math.floor(rand() * (shape.vocab - 1000)))) }));
    model.forward(inputs.slice(0, 4)); // warm-up
    const times: number[] = [];
    for (let r = 0; r < Math.max(RUNS, 3); r++) {
      const t0 = performance.now();
      model.forward(inputs);
      times.push((performance.now() - t0) / 1000);
    }
    rows.push({ family, backend: model.backend.name, sentencesPerSecond: inputs.length / median(times) });
    model.backend.dispose?.();
  }
  return rows;
}

async function printFamilyRows(): Promise<FamilyRow[]> {
  const families = await familyRows();
  console.log("encoder families at base shape (768/12/12/3072), forward pass on 32 × 128 token ids:");
  for (const f of families) console.log(`  ${f.family.padEnd(40)} ${f.sentencesPerSecond.toFixed(1).padStart(6)} sentences/s  (${f.backend})`);
  return families;
}

interface LoadRow {
  what: string;
  weightFileMB: number;
  loadMs: number;
  peakRssMB: number;
}

/**
 * Cold load time and peak RSS (VmHWM) in fresh processes: load the model, embed 32 × 128 tokens.
 * bert-ts on the f16 file of minilm-l6-h384-random and on a float32 copy (the form all-MiniLM-L6-v2 is
 * published in, 91 MB), and transformers.js on the fp32 ONNX export, in the same run.
 */
async function loadAndMemory(peers: boolean): Promise<LoadRow[]> {
  const float32Dir = await makeFloat32Copy(MINILM, join(ROOT, ".bench-models", "minilm-l6-h384-random-f32"));
  const tokens128 = join(WORK, "tokens128.txt");
  const ours = (dir: string) => () => {
    const script = `
      const { SentenceEncoder } = await import(${JSON.stringify(join(ROOT, "dist", "index.js"))});
      const { readFileSync } = await import("node:fs");
      const t0 = performance.now();
      const enc = await SentenceEncoder.load(${JSON.stringify(dir)});
      const loadMs = performance.now() - t0;
      const texts = readFileSync(${JSON.stringify(tokens128)}, "utf8").trim().split("\\n").slice(0, 32);
      await enc.embed(texts, { batchSize: 32 });
      // VmHWM, not resourceUsage().maxRSS: Linux carries maxRSS over exec from the forked parent.
      const hwm = /VmHWM:\\s+(\\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
      console.log(JSON.stringify({ loadMs, peakRssMB: Number(hwm[1]) / 1024 }));
    `;
    return JSON.parse(execFileSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8" }).trim().split("\n").pop()!) as { loadMs: number; peakRssMB: number };
  };
  const peer = () => {
    const report = join(WORK, "peer-load.json");
    execFileSync(process.execPath, [join(PEERS_DIR, "embed-transformersjs.mjs"), "--model", MINILM, "--input", tokens128, "--limit", "32", "--batch-size", "32", "--output", join(WORK, "peer-load.jsonl"), "--report", report], { cwd: PEERS_DIR, stdio: ["ignore", "ignore", "inherit"] });
    return JSON.parse(readFileSync(report, "utf8")) as { loadMs: number; peakRssMB: number };
  };
  const mb = (file: string) => statSync(file).size / 1e6;
  const cases: [string, number, () => { loadMs: number; peakRssMB: number }][] = [
    ["bert-ts, f16 safetensors", mb(join(MINILM, "model.safetensors")), ours(MINILM)],
    ["bert-ts, f32 safetensors", mb(join(float32Dir, "model.safetensors")), ours(float32Dir)],
  ];
  if (peers) cases.push(["transformers.js, fp32 ONNX", mb(join(MINILM, "onnx", "model.onnx")), peer]);
  // Rounds over all cases (not case after case), so a noisy spell of the machine hits them alike.
  const runs = cases.map(() => ({ loads: [] as number[], rss: [] as number[] }));
  for (let r = 0; r < Math.max(RUNS, 5); r++) {
    cases.forEach(([, , run], i) => {
      const out = run();
      runs[i].loads.push(out.loadMs);
      runs[i].rss.push(out.peakRssMB);
    });
  }
  return cases.map(([what, weightFileMB], i) => ({ what, weightFileMB, loadMs: median(runs[i].loads), peakRssMB: median(runs[i].rss) }));
}

/** The probes' 2-thread figures, the line every table starts with. */
function machineLimitLine(peaks: Peaks): string {
  return `Machine limit (register-only probes, ${peaks.threads} threads): float32 FMA ${peaks.fma[1].toFixed(0)} GFLOP/s, int8 VPDPBUSD ${peaks.int8[1].toFixed(0)} GOPS, bf16 VDPBF16PS ${peaks.bf16[1].toFixed(0)} GFLOP/s`;
}

export async function runE2eBench(): Promise<void> {
  const peers = ensurePeers();
  console.log(`End-to-end benchmark — ${cpus()[0]?.model ?? "cpu"} x${cpus().length}, node ${process.version}, ${new Date().toISOString().slice(0, 10)}, median of ${RUNS}`);
  const { loadNativeAddon } = await import("../src/backend/native.js");
  const addon = loadNativeAddon().addon;
  const peaks = addon ? measurePeaks(addon) : undefined;
  if (peaks) {
    console.log(machineLimitLine(peaks));
    const corpusFlops = await fileFlops(CORPUS);
    const n = readFileSync(CORPUS, "utf8").split("\n").filter((l) => l.trim()).length;
    console.log(`  corpus: ${(corpusFlops / 1e9).toFixed(0)} GFLOP for ${n} sentences → limit ${limitPerSecond(n, corpusFlops, peaks.fma[1]).toFixed(0)} sentences/s in float32; 128 tokens: limit ${limitPerSecond(1, encoderFlops(128, 384, 1536, 6), peaks.fma[1]).toFixed(0)} texts/s`);
  }
  const rows = await embeddingRows(peers);
  const dtypes = peaks ? await dtypeRows(peaks) : undefined;
  if (dtypes) printDtypeTable(dtypes);
  const base = await printBertBaseRow(peaks);
  const families = await printFamilyRows();
  const mem = await loadAndMemory(peers);
  console.log("minilm-l6-h384: cold load, then peak RSS (VmHWM) after embedding 32 × 128 tokens, fresh processes");
  for (const m of mem) {
    console.log(`  ${m.what.padEnd(28)} weights ${m.weightFileMB.toFixed(0).padStart(3)} MB  load ${m.loadMs.toFixed(0).padStart(4)} ms  peak RSS ${m.peakRssMB.toFixed(0).padStart(4)} MB`);
  }
  mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
  writeFileSync(join(ROOT, "bench", "results", "e2e.json"), JSON.stringify({ date: new Date().toISOString(), node: process.version, peaks, rows, dtypes, bertBase: base, families, load: mem }, null, 2));
}

async function printBertBaseRow(peaks: Peaks | undefined): Promise<Record<string, number | string | null>> {
  const base = await bertBaseRow();
  console.log(`bert-base-shaped (768/12/12), 32 × 128 tokens on ${base.backend}: ${(base.sentencesPerSecond as number).toFixed(1)} sentences/s, ${(base.gflops as number).toFixed(1)} GFLOP/s` +
    (peaks ? ` = ${((100 * (base.gflops as number)) / peaks.fma[1]).toFixed(0)}% of the FMA limit` : "") +
    (base.openBlasGflops ? `, ${((base.fractionOfOpenBlas as number) * 100).toFixed(0)}% of numpy/OpenBLAS sgemm (${(base.openBlasGflops as number).toFixed(1)} GFLOP/s)` : ""));
  return base;
}

/** `--bert-base`: only the machine limit and the bert-base-shaped row (quick, no peers). */
async function printBertBaseOnly(): Promise<void> {
  const { loadNativeAddon } = await import("../src/backend/native.js");
  const addon = loadNativeAddon().addon;
  const peaks = addon ? measurePeaks(addon) : undefined;
  if (peaks) console.log(`${machineLimitLine(peaks)}; median of ${Math.max(RUNS, 3)}`);
  await printBertBaseRow(peaks);
}

/** `--dtypes`: only the machine limit and the float32 / bf16 / int8 corpus rows (quick, no peers). */
async function printDtypeRows(): Promise<void> {
  const { loadNativeAddon } = await import("../src/backend/native.js");
  const addon = loadNativeAddon().addon;
  if (!addon) throw new Error("--dtypes needs the native backend (npm run build:native)");
  const peaks = measurePeaks(addon);
  console.log(`${machineLimitLine(peaks)}; median of ${RUNS}`);
  mkdirSync(WORK, { recursive: true });
  printDtypeTable(await dtypeRows(peaks));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  // `--families`, `--dtypes`, `--bert-base`: only those rows (quick, no peers).
  const only = process.argv.includes("--families") ? printFamilyRows : process.argv.includes("--dtypes") ? printDtypeRows : process.argv.includes("--bert-base") ? printBertBaseOnly : runE2eBench;
  only().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
