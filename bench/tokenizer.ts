/**
 * Tokenizer throughput: bert-ts against @huggingface/transformers' tokenizer (the peer), same model
 * folder, same process, same corpus. Also checks that both give the same ids on every line.
 *
 *   npm run bench:tokenizer            (installs the peer into bench/peers on first use)
 *
 * Environment: BERT_TS_BENCH_MODEL (model folder), BERT_TS_CORPUS (text file, one text a line),
 * BERT_TS_BENCH_RUNS (default 7), BERT_TS_BENCH_SECONDS (target seconds per run, default 1.5).
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { readSentencePieceModel } from "../src/io/sentencepiece-model.js";
import { BertTokenizer, RobertaTokenizer, SentencePieceTokenizer } from "../src/tokenizers/index.js";
import { convertSlowTokenizer } from "../test/helpers/spm-convert.js";
import { PEERS_DIR, ensurePeers } from "./peers.js";

const benchDir = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(benchDir, "..");
const peersDir = PEERS_DIR;

/** The part of transformers.js' tokenizer the bench calls. */
interface PeerTokenizer {
  encode(text: string): number[];
  (texts: string[], options: { padding: boolean; truncation: boolean }): { input_ids: { dims: number[] } };
}
interface PeerModule {
  AutoTokenizer: { from_pretrained(path: string): Promise<PeerTokenizer> };
  env: { allowRemoteModels: boolean; allowLocalModels: boolean };
}

export interface TokenizerBenchRow {
  mode: string;
  oursTokensPerSecond: number;
  peerTokensPerSecond: number | null;
  ratio: number | null;
}

export interface TokenizerBenchResult {
  model: string;
  corpus: string;
  corpusLines: number;
  tokensPerPass: number;
  passesPerRun: number;
  runs: number;
  peer: string | null;
  identicalIds: { checked: number; mismatches: number; firstMismatch: string | null } | null;
  /** The RoBERTa row's model and its own identical-ids check (byte-level BPE). */
  roberta: { model: string; identicalIds: { checked: number; mismatches: number; firstMismatch: string | null } | null } | null;
  /** The SentencePiece row's model and its identical-ids check (XLM-R Unigram). */
  sentencepiece: { model: string; identicalIds: { checked: number; mismatches: number; firstMismatch: string | null } | null } | null;
  rows: TokenizerBenchRow[];
  /** The whole-process row's CPU seconds (user + sys) per run, medians: on a loaded machine the ratio to read. */
  wholeProcess: { copies: number; runs: number; oursCpuSeconds: number; peerCpuSeconds: number | null } | null;
  node: string;
  date: string;
}

async function loadPeer(): Promise<{ module: PeerModule; version: string } | null> {
  const manifest = join(peersDir, "node_modules", "@huggingface", "transformers", "package.json");
  if (!ensurePeers()) return null;
  const require = createRequire(join(peersDir, "package.json"));
  const entry = require.resolve("@huggingface/transformers");
  const module = (await import(pathToFileURL(entry).href)) as PeerModule;
  const version = (JSON.parse(readFileSync(manifest, "utf8")) as { version: string }).version;
  module.env.allowRemoteModels = false;
  module.env.allowLocalModels = true;
  return { module, version };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

/** Median seconds of `runs` runs of fn. */
function time(fn: () => void, runs: number): number {
  fn(); // warm-up (JIT; and our word cache, as in any long-running process)
  const seconds: number[] = [];
  const collect = (globalThis as { gc?: () => void }).gc; // with --expose-gc: start each run clean
  for (let r = 0; r < runs; r++) {
    collect?.();
    const t0 = process.hrtime.bigint();
    fn();
    seconds.push(Number(process.hrtime.bigint() - t0) / 1e9);
  }
  return median(seconds);
}

export async function runTokenizerBench(options: { print?: boolean } = {}): Promise<TokenizerBenchResult> {
  const print = options.print ?? true;
  const model = resolve(process.env.BERT_TS_BENCH_MODEL ?? join(repoRoot, "..", "shared", "models", "sentence-transformers--all-MiniLM-L6-v2"));
  const corpusPath = resolve(process.env.BERT_TS_CORPUS ?? join(repoRoot, "..", "shared", "corpus", "license-sentences.txt"));
  const runs = Number(process.env.BERT_TS_BENCH_RUNS ?? 7);
  const targetSeconds = Number(process.env.BERT_TS_BENCH_SECONDS ?? 1.5);
  const lines = readFileSync(corpusPath, "utf8").split("\n").filter((l) => l.length > 0);

  const ours = await BertTokenizer.fromPretrained(model);
  const peerLoaded = await loadPeer();
  const peer = peerLoaded ? await peerLoaded.module.AutoTokenizer.from_pretrained(model) : null;

  // Same ids on every line (the peer's encode() adds [CLS]/[SEP] and does not truncate).
  let identicalIds: TokenizerBenchResult["identicalIds"] = null;
  if (peer) {
    identicalIds = compareIds(lines, (line) => ours.encode(line).inputIds, (line) => peer.encode(line));
  }

  let tokensPerPass = 0;
  for (const line of lines) tokensPerPass += ours.encode(line).inputIds.length;
  // Repeat the corpus so one run of ours takes about targetSeconds.
  const t0 = performance.now();
  for (const line of lines) ours.encode(line);
  const onePass = Math.max(1e-4, (performance.now() - t0) / 1000);
  const passes = Math.max(1, Math.round(targetSeconds / onePass));
  const tokensPerRun = tokensPerPass * passes;

  const batches: string[][] = [];
  for (let i = 0; i < lines.length; i += 32) batches.push(lines.slice(i, i + 32));

  const rows: TokenizerBenchRow[] = [];
  const measure = (mode: string, oursFn: () => void, peerFn: (() => void) | null): void => {
    const oursRate = tokensPerRun / time(oursFn, runs);
    const peerRate = peerFn ? tokensPerRun / time(peerFn, runs) : null;
    rows.push({ mode, oursTokensPerSecond: oursRate, peerTokensPerSecond: peerRate, ratio: peerRate ? oursRate / peerRate : null });
  };

  measure(
    "encode(text), one text at a time (ours: full Encoding with offsets; peer: ids only)",
    () => {
      for (let p = 0; p < passes; p++) for (const line of lines) ours.encode(line);
    },
    peer
      ? () => {
          for (let p = 0; p < passes; p++) for (const line of lines) peer.encode(line);
        }
      : null,
  );
  measure(
    "batches of 32, truncation + padding to the longest",
    () => {
      for (let p = 0; p < passes; p++) for (const batch of batches) ours.encodeBatch(batch, { truncation: true, padding: "longest" });
    },
    peer
      ? () => {
          for (let p = 0; p < passes; p++) for (const batch of batches) peer(batch, { padding: true, truncation: true });
        }
      : null,
  );
  // Cold: a fresh tokenizer (empty word cache), one pass over the corpus, repeated runs.
  const fresh = await Promise.all(Array.from({ length: runs + 1 }, () => BertTokenizer.fromPretrained(model)));
  let next = 0;
  const coldSeconds = time(() => {
    const tok = fresh[next++];
    for (const line of lines) tok.encode(line);
  }, runs);
  const peerOnePass = peer
    ? time(() => {
        for (const line of lines) peer.encode(line);
      }, runs)
    : null;
  const coldRate = tokensPerPass / coldSeconds;
  const peerColdRate = peerOnePass ? tokensPerPass / peerOnePass : null;
  rows.push({
    mode: "encode(text), one pass with an empty word cache (ours)",
    oursTokensPerSecond: coldRate,
    peerTokensPerSecond: peerColdRate,
    ratio: peerColdRate ? coldRate / peerColdRate : null,
  });

  const wholeProcess = measureWholeProcess(model, lines, tokensPerPass, peerLoaded !== null, rows);

  const roberta = await measureRoberta(lines, runs, targetSeconds, peerLoaded?.module ?? null, rows);
  const sentencepiece = await measureSentencePiece(lines, runs, targetSeconds, peerLoaded?.module ?? null, rows);

  const result: TokenizerBenchResult = {
    model,
    corpus: corpusPath,
    corpusLines: lines.length,
    tokensPerPass,
    passesPerRun: passes,
    runs,
    peer: peerLoaded ? `@huggingface/transformers ${peerLoaded.version}` : null,
    identicalIds,
    roberta,
    sentencepiece,
    rows,
    wholeProcess,
    node: process.version,
    date: new Date().toISOString(),
  };
  const outDir = join(benchDir, "results");
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, "tokenizer.json"), JSON.stringify(result, null, 2) + "\n");

  if (print) {
    const fmt = (x: number | null): string => (x === null ? "—" : `${(x / 1e6).toFixed(2)} M`);
    console.log(`Tokenizer: ${model}`);
    console.log(`Corpus: ${corpusPath} (${lines.length} lines, ${tokensPerPass} tokens a pass, ${passes} passes a run, median of ${runs} runs)`);
    console.log(`Peer: ${result.peer ?? "not available"}`);
    if (identicalIds) console.log(`Identical ids: ${identicalIds.checked - identicalIds.mismatches}/${identicalIds.checked} lines`);
    const rid = roberta?.identicalIds;
    if (rid) console.log(`Identical ids (RoBERTa): ${rid.checked - rid.mismatches}/${rid.checked} lines`);
    const sid = sentencepiece?.identicalIds;
    if (sid) console.log(`Identical ids (SentencePiece, XLM-R): ${sid.checked - sid.mismatches}/${sid.checked} lines`);
    console.log("");
    console.log(`${"mode".padEnd(86)} ${"ours tok/s".padStart(12)} ${"peer tok/s".padStart(12)} ${"ratio".padStart(7)}`);
    for (const r of rows) {
      console.log(
        `${r.mode.padEnd(86)} ${fmt(r.oursTokensPerSecond).padStart(12)} ${fmt(r.peerTokensPerSecond).padStart(12)} ${(r.ratio === null ? "—" : r.ratio.toFixed(2) + "x").padStart(7)}`,
      );
    }
    if (wholeProcess) {
      const { oursCpuSeconds: o, peerCpuSeconds: p } = wholeProcess;
      console.log(`Whole process CPU (user+sys), median of ${wholeProcess.runs}: ours ${o.toFixed(2)} s, peer ${p === null ? "—" : `${p.toFixed(2)} s (${(p / o).toFixed(2)}x)`}`);
    }
    console.log(`\nWritten: ${join(outDir, "tokenizer.json")}`);
  }
  return result;
}

/** CPU seconds (user + sys) this process's waited-for children have used so far (Linux /proc; null elsewhere). */
function childrenCpuSeconds(): number | null {
  try {
    // Fields after the command name: state is 3rd; cutime and cstime are the 16th and 17th overall.
    const fields = readFileSync("/proc/self/stat", "utf8").replace(/^.*\) /, "").split(" ");
    return (Number(fields[13]) + Number(fields[14])) / 100;
  } catch {
    return null;
  }
}

/**
 * Whole-process row (issue 15): `bert-ts tokenize --input FILE --output FILE.jsonl` on COPIES copies
 * of the corpus, start-up and model load included, against the peer's script doing the same with
 * transformers.js (bench/peers/tokenize-transformersjs.mjs, which writes fewer fields: ids, types,
 * mask). Runs alternate ours / peer so load bursts hit both. Needs dist/ (npm run build).
 */
function measureWholeProcess(model: string, lines: string[], tokensPerPass: number, havePeer: boolean, rows: TokenizerBenchRow[]): TokenizerBenchResult["wholeProcess"] {
  const copies = Number(process.env.BERT_TS_BENCH_COPIES ?? 40);
  const runs = Number(process.env.BERT_TS_BENCH_PROCESS_RUNS ?? 3);
  const bin = join(repoRoot, "bin", "bert-ts.js");
  if (!existsSync(join(repoRoot, "dist", "cli", "main.js"))) {
    process.stderr.write("bench:tokenizer: dist/ not built (npm run build); skipping the whole-process row\n");
    return null;
  }
  const work = mkdtempSync(join(tmpdir(), "bert-ts-tokenize-bench-"));
  try {
    const input = join(work, "corpus.txt");
    writeFileSync(input, Array.from({ length: copies }, () => lines.join("\n") + "\n").join(""));
    const timeRun = (args: string[], cwd: string): { wall: number; cpu: number } => {
      const cpu0 = childrenCpuSeconds();
      const t0 = performance.now();
      const r = spawnSync(process.execPath, args, { cwd, encoding: "utf8", env: { ...process.env, BERT_TS_THREADS: "1" } });
      const wall = (performance.now() - t0) / 1000;
      if (r.status !== 0) throw new Error(`${args.join(" ")} failed: ${r.stderr}`);
      const cpu1 = childrenCpuSeconds();
      return { wall, cpu: cpu0 === null || cpu1 === null ? NaN : cpu1 - cpu0 };
    };
    const ours: { wall: number; cpu: number }[] = [];
    const peer: { wall: number; cpu: number }[] = [];
    for (let i = 0; i < runs; i++) {
      ours.push(timeRun([bin, "tokenize", "-m", model, "--input", input, "--format", "jsonl", "--output", join(work, "ours.jsonl")], repoRoot));
      if (havePeer) peer.push(timeRun([join(peersDir, "tokenize-transformersjs.mjs"), "--model", model, "--input", input, "--output", join(work, "peer.jsonl")], peersDir));
    }
    const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
    const tokens = tokensPerPass * copies;
    const oursRate = tokens / med(ours.map((r) => r.wall));
    const peerRate = havePeer ? tokens / med(peer.map((r) => r.wall)) : null;
    rows.push({
      mode: `whole process: tokenize ${copies}x corpus file -> JSONL file (ours: all fields; peer: ids)`,
      oursTokensPerSecond: oursRate,
      peerTokensPerSecond: peerRate,
      ratio: peerRate ? oursRate / peerRate : null,
    });
    return { copies, runs, oursCpuSeconds: med(ours.map((r) => r.cpu)), peerCpuSeconds: havePeer ? med(peer.map((r) => r.cpu)) : null };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * RoBERTa row: byte-level BPE (RobertaTokenizer) against the peer on the same folder
 * (BERT_TS_BENCH_ROBERTA_MODEL, default roberta-micro-random), encode(text) one text at a time.
 */
async function measureRoberta(
  lines: string[],
  runs: number,
  targetSeconds: number,
  peerModule: PeerModule | null,
  rows: TokenizerBenchRow[],
): Promise<TokenizerBenchResult["roberta"]> {
  const model = resolve(process.env.BERT_TS_BENCH_ROBERTA_MODEL ?? join(repoRoot, "..", "shared", "models", "roberta-micro-random"));
  if (!existsSync(model)) return null;
  const ours = await RobertaTokenizer.fromPretrained(model);
  const peer = peerModule ? await peerModule.AutoTokenizer.from_pretrained(model) : null;
  let identicalIds: NonNullable<TokenizerBenchResult["roberta"]>["identicalIds"] = null;
  if (peer) {
    identicalIds = compareIds(lines, (line) => ours.encode(line).inputIds, (line) => peer.encode(line));
  }
  let tokensPerPass = 0;
  for (const line of lines) tokensPerPass += ours.encode(line).inputIds.length;
  const t0 = performance.now();
  for (const line of lines) ours.encode(line);
  const passes = Math.max(1, Math.round(targetSeconds / Math.max(1e-4, (performance.now() - t0) / 1000)));
  const oursRate = (tokensPerPass * passes) / time(() => {
    for (let p = 0; p < passes; p++) for (const line of lines) ours.encode(line);
  }, runs);
  const peerRate = peer
    ? (tokensPerPass * passes) / time(() => {
        for (let p = 0; p < passes; p++) for (const line of lines) peer.encode(line);
      }, runs)
    : null;
  rows.push({
    mode: `RoBERTa byte-level BPE (${basename(model)}): encode(text), one text at a time`,
    oursTokensPerSecond: oursRate,
    peerTokensPerSecond: peerRate,
    ratio: peerRate ? oursRate / peerRate : null,
  });
  return { model, identicalIds };
}

/**
 * SentencePiece row: XLM-R's Unigram (BERT_TS_BENCH_SP_MODEL, default xlm-roberta-micro-random),
 * ours read from sentencepiece.bpe.model; the peer cannot read .model files, so it gets the
 * tokenizer.json transformers' converter would write (test/helpers/spm-convert.ts) in a temporary
 * copy of the folder. encode(text), one text at a time.
 */
async function measureSentencePiece(
  lines: string[],
  runs: number,
  targetSeconds: number,
  peerModule: PeerModule | null,
  rows: TokenizerBenchRow[],
): Promise<TokenizerBenchResult["sentencepiece"]> {
  const model = resolve(process.env.BERT_TS_BENCH_SP_MODEL ?? join(repoRoot, "..", "shared", "models", "xlm-roberta-micro-random"));
  const modelFile = join(model, "sentencepiece.bpe.model");
  if (!existsSync(modelFile)) return null;
  const ours = await SentencePieceTokenizer.fromPretrained(model, { source: "sentencepiece" });
  let peer: PeerTokenizer | null = null;
  if (peerModule) {
    const dir = mkdtempSync(join(tmpdir(), "bert-ts-bench-spm-"));
    try {
      copyFileSync(join(model, "config.json"), join(dir, "config.json"));
      // transformers.js wants special tokens as strings ({"content": ...} objects make it throw).
      for (const f of ["tokenizer_config.json", "special_tokens_map.json"]) {
        if (!existsSync(join(model, f))) continue;
        const config = JSON.parse(readFileSync(join(model, f), "utf8")) as Record<string, unknown>;
        for (const [k, v] of Object.entries(config)) if (typeof v === "object" && v !== null && "content" in v) config[k] = (v as { content: unknown }).content;
        writeFileSync(join(dir, f), JSON.stringify(config));
      }
      writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(convertSlowTokenizer(await readSentencePieceModel(modelFile), "XLMRobertaTokenizer")));
      peer = await peerModule.AutoTokenizer.from_pretrained(dir);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const identicalIds = peer ? compareIds(lines, (line) => ours.encode(line).inputIds, (line) => (peer as PeerTokenizer).encode(line)) : null;
  let tokensPerPass = 0;
  for (const line of lines) tokensPerPass += ours.encode(line).inputIds.length;
  const t0 = performance.now();
  for (const line of lines) ours.encode(line);
  const passes = Math.max(1, Math.round(targetSeconds / Math.max(1e-4, (performance.now() - t0) / 1000)));
  const oursRate = (tokensPerPass * passes) / time(() => {
    for (let p = 0; p < passes; p++) for (const line of lines) ours.encode(line);
  }, runs);
  const peerRate = peer
    ? (tokensPerPass * passes) / time(() => {
        for (let p = 0; p < passes; p++) for (const line of lines) (peer as PeerTokenizer).encode(line);
      }, runs)
    : null;
  rows.push({
    mode: `SentencePiece Unigram, XLM-R (${basename(model)}): encode(text), one text at a time`,
    oursTokensPerSecond: oursRate,
    peerTokensPerSecond: peerRate,
    ratio: peerRate ? oursRate / peerRate : null,
  });
  return { model, identicalIds };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  runTokenizerBench().catch((err: unknown) => {
    process.stderr.write(`bench:tokenizer: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  });
}

/** Lines on which two tokenizers give different ids. */
function compareIds(
  lines: readonly string[],
  ours: (line: string) => readonly number[],
  peer: (line: string) => ArrayLike<number>,
): { checked: number; mismatches: number; firstMismatch: string | null } {
  let mismatches = 0;
  let firstMismatch: string | null = null;
  for (const line of lines) {
    const a = ours(line);
    const b = peer(line);
    if (a.length !== b.length || a.some((id, i) => id !== b[i])) {
      mismatches++;
      firstMismatch ??= line;
    }
  }
  return { checked: lines.length, mismatches, firstMismatch };
}
