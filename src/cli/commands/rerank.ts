/**
 * `bert-ts rerank`: a cross-encoder scores query/passage pairs (the text-ranking pipeline).
 * - `--query Q` with passages (arguments, --input FILE or stdin lines): the ranked list, best first,
 *   one JSONL line per passage {"index", "score", "text"}.
 * - `--input pairs.jsonl` of [query, passage] lines (no --query): one line per pair, in input order,
 *   {"query", "passage", "score"}.
 * `score` is the activated score (sigmoid for one label unless the model's config says otherwise);
 * `--raw-scores` gives the logit. Over-long passages are truncated and reported on stderr.
 */
import type { Command } from "commander";
import { pipeline } from "../../pipelines/index.js";
import type { PairScore } from "../../pipelines/text-ranking.js";
import { CliError, OutputSink, formatTable, parsePositiveInt, readInputs, resolveFormat } from "../io.js";
import { applyThreads, resolveModelArg, warnIfRandomWeights, DTYPE_HELP, applyDtype } from "../model-arg.js";

interface RerankFlags {
  model?: string;
  query?: string;
  input?: string;
  format?: string;
  output?: string;
  topK?: number;
  rawScores?: boolean;
  batchSize: number;
  threads?: number;
  dtype?: string;
}

export function registerRerank(program: Command): void {
  program
    .command("rerank")
    .description("Score [query, passage] pairs with a cross-encoder; with --query, rank the passages best first")
    .argument("[passages...]", "passages to rank against --query (else --input FILE, else lines on stdin)")
    .requiredOption("-m, --model <id|dir>", "a cross-encoder (sequence classifier with one output)")
    .option("-q, --query <text>", "the query to rank the passages for")
    .option("-i, --input <file>", "with --query: passages, one a line (.txt) or strings (.jsonl); without: a [query, passage] pair a line (.jsonl)")
    .option("-f, --format <format>", "text (readable; default on a terminal) or jsonl (default otherwise)")
    .option("-o, --output <file>", "write to FILE instead of stdout")
    .option("-k, --top-k <n>", "with --query: keep the best n passages", parsePositiveInt("--top-k"))
    .option("--raw-scores", "the raw logits instead of the activated scores")
    .option("-b, --batch-size <n>", "pairs per forward pass", parsePositiveInt("--batch-size"), 32)
    .option("-t, --threads <n>", "compute threads (native backend)", parsePositiveInt("--threads"))
    .option("--dtype <dtype>", DTYPE_HELP)
    .action(async (passages: string[], flags: RerankFlags) => runRerank(passages, flags));
}

async function runRerank(args: string[], flags: RerankFlags): Promise<void> {
  const format = resolveFormat(flags.format, flags.output);
  applyThreads(flags.threads);
  applyDtype(flags.dtype);
  const records = await readInputs({ args, input: flags.input });
  const ranking = flags.query !== undefined;
  if (ranking && records.some((r) => r.pair !== undefined)) throw new CliError("--query ranks single passages; the input holds [query, passage] pairs (drop --query)");
  if (!ranking && records.some((r) => r.pair === undefined)) {
    throw new CliError("Without --query every input line must be a [query, passage] pair (a .jsonl file); or give --query Q to rank passages");
  }
  if (flags.topK !== undefined && !ranking) throw new CliError("--top-k needs --query (pairs are scored in input order)");
  const dir = await resolveModelArg(flags.model);
  warnIfRandomWeights(dir);
  const ranker = await pipeline("text-ranking", dir, { batchSize: flags.batchSize });
  const options = { rawScores: flags.rawScores };
  const sink = new OutputSink(flags.output);
  let results: PairScore[];
  try {
    if (ranking) {
      const passages = records.map((r) => r.text);
      const all = await ranker(flags.query!, passages, options);
      results = all; // every pair counts for the truncation report, shown or not
      const ranked = flags.topK === undefined ? all : all.slice(0, flags.topK);
      if (format === "jsonl") for (const r of ranked) sink.writeJsonLine({ index: r.index, score: r.score, text: passages[r.index] });
      else sink.write(formatTable([["rank", "index", "score", "passage"], ...ranked.map((r, k) => [String(k + 1), String(r.index), r.score.toFixed(4), passages[r.index]])], [true, true, true]) + "\n");
    } else {
      results = await ranker.scorePairs(records.map((r) => [r.text, r.pair!] as const), options);
      results.forEach((r, i) => {
        const { text: query, pair: passage } = records[i];
        if (format === "jsonl") sink.writeJsonLine({ query, passage, score: r.score });
        else sink.write(`${r.score.toFixed(4)}  ${JSON.stringify(query)} + ${JSON.stringify(passage)}\n`);
      });
    }
  } finally {
    await sink.close();
  }
  const truncated = results.filter((r) => r.numTruncatedTokens > 0).length;
  if (truncated > 0) {
    process.stderr.write(`bert-ts: ${truncated} pair(s) were longer than the model's ${ranker.maxLength} tokens; their passages were truncated\n`);
  }
}
