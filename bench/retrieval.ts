/**
 * Retrieval throughput, each next to dense embedding of the same texts by the same encoder in the
 * same run (so the ratio shows what the task adds: pairs read together, or the vocabulary
 * projection of SPLADE):
 * - rerank: a query + 32 corpus passages through the cross-encoder (pairs/s), vs SentenceEncoder
 *   on those 32 passages with the same checkpoint;
 * - SPLADE: SparseEncoder on the whole corpus (vectors/s), vs SentenceEncoder (mean pooling) on it
 *   with the same checkpoint.
 *
 *   npm run bench:retrieval       (BERT_TS_BENCH_RUNS, default 3; BERT_TS_CORPUS)
 */
import { readFileSync } from "node:fs";
import { pipeline } from "../src/pipelines/index.js";
import { SentenceEncoder } from "../src/pipelines/sentence-encoder.js";
import { SparseEncoder } from "../src/pipelines/sparse-encoder.js";
import { CORPUS_FILE, modelPath } from "../test/helpers/paths.js";

export interface RetrievalBenchRow {
  task: string;
  model: string;
  items: number;
  unit: string;
  perSecond: number;
  denseSameTexts: number;
  ratio: number;
}

const RUNS = Number(process.env.BERT_TS_BENCH_RUNS ?? 3);

/** Median over RUNS of items / second; each run repeats the work for at least a second (one warm-up first). */
async function rate(items: number, work: () => Promise<unknown>): Promise<number> {
  await work();
  const rates: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    let done = 0;
    do {
      await work();
      done += items;
    } while (performance.now() - t < 1000);
    rates.push(done / ((performance.now() - t) / 1000));
  }
  return rates.sort((a, b) => a - b)[Math.floor(rates.length / 2)];
}

export async function runRetrievalBench(options: { print?: boolean } = {}): Promise<{ rows: RetrievalBenchRow[]; node: string; date: string }> {
  const corpus = readFileSync(CORPUS_FILE, "utf8").split("\n").filter((l) => l.trim());
  const rows: RetrievalBenchRow[] = [];

  const ce = modelPath("bert-micro-cross-encoder-random");
  const ranker = await pipeline("text-ranking", ce);
  const ceDense = await SentenceEncoder.load(ce);
  const passages = corpus.slice(0, 32);
  const query = corpus[100];
  const pairs = await rate(passages.length, () => ranker(query, passages));
  const dense32 = await rate(passages.length, () => ceDense.embed(passages));
  rows.push({ task: "rerank: query + 32 passages", model: "bert-micro-cross-encoder-random", items: 32, unit: "pairs/s", perSecond: pairs, denseSameTexts: dense32, ratio: pairs / dense32 });

  const splade = modelPath("bert-micro-splade-random");
  const sparse = await SparseEncoder.load(splade);
  const spladeDense = await SentenceEncoder.load(splade, { pooling: "mean" });
  const vectors = await rate(corpus.length, () => sparse.embed(corpus));
  const denseAll = await rate(corpus.length, () => spladeDense.embed(corpus));
  rows.push({ task: `SPLADE: corpus (${corpus.length} sentences)`, model: "bert-micro-splade-random", items: corpus.length, unit: "vectors/s", perSecond: vectors, denseSameTexts: denseAll, ratio: vectors / denseAll });

  if (options.print) {
    console.log(`\nRetrieval (${sparse.head.model.backend.name}; medians of ${RUNS} runs; dense = SentenceEncoder, same checkpoint, same texts)`);
    console.log("| task | model | ours | dense, same texts | ratio |");
    console.log("| --- | --- | ---: | ---: | ---: |");
    for (const r of rows) console.log(`| ${r.task} | ${r.model} | ${r.perSecond.toFixed(1)} ${r.unit} | ${r.denseSameTexts.toFixed(1)} texts/s | ${(r.ratio * 100).toFixed(0)}% |`);
  }
  return { rows, node: process.version, date: new Date().toISOString() };
}

if (import.meta.url === `file://${process.argv[1]}`) await runRetrievalBench({ print: true });
