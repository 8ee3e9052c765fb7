/**
 * `bert-ts ner`: texts → named entities (labels, scores, character spans) through the
 * token-classification pipeline. JSONL per input, in order: {"text", "entities", "tokens", "logits"}
 * with Hugging Face's entity fields and `logits` [tokens][labels] aligned with `tokens`.
 */
import type { Command } from "commander";
import { pipeline } from "../../pipelines/index.js";
import { AGGREGATION_STRATEGIES, type AggregationStrategy, type TokenClassificationResult } from "../../pipelines/token-classification.js";
import { CliError, formatTable, OutputSink, parseNonNegativeInt, parsePositiveInt, readInputs, resolveFormat } from "../io.js";
import { applyThreads, resolveModelArg, warnIfRandomWeights, DTYPE_HELP, applyDtype } from "../model-arg.js";

interface NerFlags {
  model?: string;
  input?: string;
  format?: string;
  output?: string;
  aggregation: string;
  ignoreLabels?: string;
  stride?: number;
  batchSize: number;
  threads?: number;
  dtype?: string;
}

export function registerNer(program: Command): void {
  program
    .command("ner")
    .description("Find named entities (token classification): labels, scores and character spans")
    .argument("[texts...]", "texts (else --input FILE, else lines on stdin)")
    .requiredOption("-m, --model <id|dir>", "model folder or Hugging Face id (a BertForTokenClassification checkpoint)")
    .option("-i, --input <file>", "texts from FILE: .jsonl (a string a line) or one text a line; - for stdin")
    .option("-f, --format <format>", "text (readable; default on a terminal) or jsonl (default otherwise)")
    .option("-o, --output <file>", "write to FILE instead of stdout")
    .option("-a, --aggregation <strategy>", `how tokens become entities: ${AGGREGATION_STRATEGIES.join(", ")}`, "simple")
    .option("--ignore-labels <labels>", 'comma-separated labels to leave out (default "O"; "" keeps all)')
    .option("--stride <n>", "tokens shared by consecutive windows of a text longer than the model takes", parseNonNegativeInt("--stride"))
    .option("-b, --batch-size <n>", "windows per forward pass", parsePositiveInt("--batch-size"), 32)
    .option("-t, --threads <n>", "compute threads (native backend)", parsePositiveInt("--threads"))
    .option("--dtype <dtype>", DTYPE_HELP)
    .action(async (texts: string[], flags: NerFlags) => runNer(texts, flags));
}

async function runNer(texts: string[], flags: NerFlags): Promise<void> {
  const format = resolveFormat(flags.format, flags.output);
  const strategy = flags.aggregation;
  if (!(AGGREGATION_STRATEGIES as readonly string[]).includes(strategy)) {
    throw new CliError(`Unknown --aggregation ${JSON.stringify(strategy)}: expected ${AGGREGATION_STRATEGIES.join(", ")}`);
  }
  const ignoreLabels = flags.ignoreLabels === undefined ? ["O"] : flags.ignoreLabels.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
  applyThreads(flags.threads);
  applyDtype(flags.dtype);
  const records = await readInputs({ args: texts, input: flags.input });
  if (records.some((r) => r.pair !== undefined)) throw new CliError("ner takes single texts, not pairs");
  const dir = await resolveModelArg(flags.model);
  warnIfRandomWeights(dir);
  const ner = await pipeline("token-classification", dir, { batchSize: flags.batchSize });
  const results = await ner.run(
    records.map((r) => r.text),
    { aggregationStrategy: strategy as AggregationStrategy, ignoreLabels, stride: flags.stride },
  );
  const sink = new OutputSink(flags.output);
  try {
    results.forEach((r, i) => {
      const text = records[i].text;
      if (format === "jsonl") sink.writeJsonLine({ text, entities: r.entities, tokens: r.tokens, logits: r.logits });
      else sink.write((i > 0 ? "\n" : "") + toReadable(text, r) + "\n");
    });
  } catch (err) {
    await sink.discard();
    throw err;
  }
  await sink.close();
}

function toReadable(text: string, r: TokenClassificationResult): string {
  const head = JSON.stringify(text);
  if (r.entities.length === 0) return `${head}\n  (no entities)`;
  const rows = r.entities.map((e) => [
    "  " + ("entity" in e ? e.entity : e.entity_group),
    e.score.toFixed(4),
    `${e.start}-${e.end}`,
    JSON.stringify(text.slice(e.start, e.end)),
  ]);
  return `${head}\n${formatTable([["  entity", "score", "span", "text"], ...rows], [false, true, true, false])}`;
}
