/**
 * `bert-ts classify`: texts (or text pairs) → labels with scores, through the text-classification
 * pipeline. JSONL per input, in order: {"text", "text_pair"?, "label", "score", "labels", "logits"}.
 */
import type { Command } from "commander";
import { pipeline } from "../../pipelines/index.js";
import type { ClassificationFunction, TextClassificationResult } from "../../pipelines/text-classification.js";
import { CliError, formatTable, OutputSink, parsePositiveInt, readInputs, resolveFormat, type TextInputRecord } from "../io.js";
import { applyThreads, resolveModelArg, warnIfRandomWeights, DTYPE_HELP, applyDtype } from "../model-arg.js";

interface ClassifyFlags {
  model?: string;
  input?: string;
  pair?: string;
  format?: string;
  output?: string;
  topK?: number | "all";
  function?: string;
  batchSize: number;
  threads?: number;
  dtype?: string;
}

const FUNCTIONS: readonly ClassificationFunction[] = ["softmax", "sigmoid", "none"];

/** --top-k: a positive integer, or "all" (commander turns a null from a parser into "", so "all" stays a string). */
export function parseTopK(value: string): number | "all" {
  if (value === "all") return "all";
  return parsePositiveInt("--top-k")(value);
}

export function registerClassify(program: Command): void {
  program
    .command("classify")
    .description("Classify texts (or text pairs) with a sequence-classification model: labels and scores")
    .argument("[texts...]", "texts to classify (else --input FILE, else lines on stdin)")
    .requiredOption("-m, --model <id|dir>", "model folder or Hugging Face id (a BertForSequenceClassification checkpoint)")
    .option("-i, --input <file>", "texts from FILE: .jsonl (a string, [text, pair] or {text, text_pair} a line) or one text a line; - for stdin")
    .option("--pair <text>", "second text of a pair, for every input text")
    .option("-f, --format <format>", "text (readable; default on a terminal) or jsonl (default otherwise)")
    .option("-o, --output <file>", "write to FILE instead of stdout")
    .option("-k, --top-k <n>", "labels to list per text, best first, or all (default all)", parseTopK)
    .option("--function <fn>", "softmax, sigmoid or none (default as Hugging Face: sigmoid for multi-label or one label, else softmax)")
    .option("-b, --batch-size <n>", "texts per forward pass", parsePositiveInt("--batch-size"), 32)
    .option("-t, --threads <n>", "compute threads (native backend)", parsePositiveInt("--threads"))
    .option("--dtype <dtype>", DTYPE_HELP)
    .action(async (texts: string[], flags: ClassifyFlags) => runClassify(texts, flags));
}

async function runClassify(texts: string[], flags: ClassifyFlags): Promise<void> {
  const format = resolveFormat(flags.format, flags.output);
  const fn = flags.function;
  if (fn !== undefined && !(FUNCTIONS as readonly string[]).includes(fn)) {
    throw new CliError(`Unknown --function ${JSON.stringify(fn)}: expected ${FUNCTIONS.join(", ")}`);
  }
  applyThreads(flags.threads);
  applyDtype(flags.dtype);
  const records = await readInputs({ args: texts, input: flags.input, pair: flags.pair });
  const dir = await resolveModelArg(flags.model);
  warnIfRandomWeights(dir);
  const clf = await pipeline("text-classification", dir, { batchSize: flags.batchSize });
  const inputs = records.map((r) => (r.pair === undefined ? r.text : { text: r.text, textPair: r.pair }));
  const results = await clf.run(inputs, { topK: flags.topK === undefined || flags.topK === "all" ? null : flags.topK, functionToApply: fn as ClassificationFunction | undefined });
  const sink = new OutputSink(flags.output);
  try {
    results.forEach((result, i) => {
      if (format === "jsonl") sink.writeJsonLine(toJson(records[i], result));
      else sink.write((i > 0 ? "\n" : "") + toReadable(records[i], result) + "\n");
    });
  } catch (err) {
    await sink.discard();
    throw err;
  }
  await sink.close();
  const truncated = results.filter((r) => r.numTruncatedTokens > 0).length;
  if (truncated > 0) {
    process.stderr.write(`bert-ts: ${truncated} input(s) were longer than the model's ${clf.tokenizer.modelMaxLength} tokens and were truncated before classifying\n`);
  }
}

function toJson(record: TextInputRecord, r: TextClassificationResult): Record<string, unknown> {
  return {
    text: record.text,
    ...(record.pair !== undefined ? { text_pair: record.pair } : {}),
    label: r.labels[0].label,
    score: r.labels[0].score,
    labels: r.labels,
    logits: r.logits,
    num_truncated_tokens: r.numTruncatedTokens,
  };
}

function toReadable(record: TextInputRecord, r: TextClassificationResult): string {
  const head = record.pair === undefined ? JSON.stringify(record.text) : `${JSON.stringify(record.text)} + ${JSON.stringify(record.pair)}`;
  const rows = r.labels.map((l) => ["  " + l.label, l.score.toFixed(4)]);
  return `${head}\n${formatTable([["  label", "score"], ...rows], [false, true])}`;
}
