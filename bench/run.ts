/**
 * `npm run bench`: every benchmark in one run, each next to its peer in the same run — GEMM vs
 * numpy/OpenBLAS, tokenizer vs @huggingface/transformers, end to end vs transformers.js, this machine's
 * FMA / VNNI / BF16 limits with int8 and bf16 GEMMs against them, int8 / bf16 accuracy, rerank and
 * SPLADE vs dense embedding of the same texts — with
 * tables printed and JSON written to bench/results/. The HTTP server has its own: npm run bench:server.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { runGemmBench } from "./gemm.js";
import { runTokenizerBench } from "./tokenizer.js";
import { runE2eBench } from "./e2e.js";
import { runLimitsBench } from "./limits.js";
import { runAccuracyBench } from "./lowp-accuracy.js";
import { runIndexBench } from "./index.js";
import { runRetrievalBench } from "./retrieval.js";

const only = process.argv.slice(2);
const want = (name: string) => only.length === 0 || only.includes(name);

const results = join(dirname(fileURLToPath(import.meta.url)), "results");
mkdirSync(results, { recursive: true });
if (want("gemm")) writeFileSync(join(results, "gemm.json"), JSON.stringify(await runGemmBench({ print: true }), null, 2) + "\n");
if (want("tokenizer")) await runTokenizerBench({ print: true });
if (want("limits")) writeFileSync(join(results, "limits.json"), JSON.stringify(runLimitsBench(true), null, 2) + "\n");
if (want("accuracy")) {
  const shared = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "shared");
  const rows = await runAccuracyBench({
    modelsDir: process.env.BERT_TS_MODELS ?? join(shared, "models"),
    goldenDir: process.env.BERT_TS_GOLDEN ?? join(shared, "golden"),
    corpus: process.env.BERT_TS_CORPUS ?? join(shared, "corpus", "license-sentences.txt"),
    corpusModel: "minilm-l6-h384-random",
    print: true,
  });
  writeFileSync(join(results, "accuracy.json"), JSON.stringify(rows, null, 2) + "\n");
}
if (want("e2e")) await runE2eBench();
if (want("index")) await runIndexBench();
if (want("retrieval")) writeFileSync(join(results, "retrieval.json"), JSON.stringify(await runRetrievalBench({ print: true }), null, 2) + "\n");
