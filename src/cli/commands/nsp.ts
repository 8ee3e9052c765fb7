/**
 * `bert-ts nsp`: does sentence B follow sentence A? (BERT's next-sentence prediction head.)
 * Pairs come as two arguments "A" "B", as --pair B with argument texts, or as a .jsonl --input of
 * [a, b] / {text, text_pair}. JSONL per pair, in order: {"text", "text_pair", "is_next",
 * "probability", "logits"}.
 */
import type { Command } from "commander";
import type { NextSentenceResult } from "../../heads/next-sentence.js";
import { pipeline } from "../../pipelines/index.js";
import { CliError, OutputSink, parsePositiveInt, readInputs, resolveFormat, type TextInputRecord } from "../io.js";
import { applyThreads, resolveModelArg, warnIfRandomWeights, DTYPE_HELP, applyDtype } from "../model-arg.js";

interface NspFlags {
  model?: string;
  input?: string;
  pair?: string;
  format?: string;
  output?: string;
  batchSize: number;
  threads?: number;
  dtype?: string;
}

export function registerNsp(program: Command): void {
  program
    .command("nsp")
    .description("Next-sentence prediction: does sentence B follow sentence A?")
    .argument("[sentences...]", 'two sentences "A" "B" (or texts with --pair; else --input FILE or stdin)')
    .requiredOption("-m, --model <id|dir>", "model folder or Hugging Face id with an NSP head (BertForPreTraining / BertForNextSentencePrediction)")
    .option("-i, --input <file>", "pairs from FILE: .jsonl with [a, b] or {text, text_pair} a line; - for stdin")
    .option("--pair <text>", "sentence B, for every sentence A given")
    .option("-f, --format <format>", "text (readable; default on a terminal) or jsonl (default otherwise)")
    .option("-o, --output <file>", "write to FILE instead of stdout")
    .option("-b, --batch-size <n>", "pairs per forward pass", parsePositiveInt("--batch-size"), 32)
    .option("-t, --threads <n>", "compute threads (native backend)", parsePositiveInt("--threads"))
    .option("--dtype <dtype>", DTYPE_HELP)
    .action(async (sentences: string[], flags: NspFlags) => runNsp(sentences, flags));
}

async function readPairs(sentences: string[], flags: NspFlags): Promise<Required<TextInputRecord>[]> {
  if (sentences.length > 0 && flags.pair === undefined) {
    if (sentences.length !== 2) {
      throw new CliError(`nsp takes two sentences "A" "B" (got ${sentences.length}); for several pairs use --input pairs.jsonl or --pair`);
    }
    if (flags.input !== undefined) throw new CliError("Give sentences either as arguments or with --input, not both");
    return [{ text: sentences[0], pair: sentences[1] }];
  }
  const records = await readInputs({ args: sentences, input: flags.input, pair: flags.pair });
  return records.map((r, i) => {
    if (r.pair === undefined) throw new CliError(`Input ${i + 1} is a single text; nsp needs pairs ([a, b] or {"text", "text_pair"} in .jsonl)`);
    return { text: r.text, pair: r.pair };
  });
}

async function runNsp(sentences: string[], flags: NspFlags): Promise<void> {
  const format = resolveFormat(flags.format, flags.output);
  applyThreads(flags.threads);
  applyDtype(flags.dtype);
  const pairs = await readPairs(sentences, flags);
  const dir = await resolveModelArg(flags.model);
  warnIfRandomWeights(dir);
  const nsp = await pipeline("next-sentence", dir, { batchSize: flags.batchSize });
  const results = await nsp.run(pairs.map((p) => [p.text, p.pair] as const));
  const sink = new OutputSink(flags.output);
  try {
    results.forEach((r, i) => {
      if (format === "jsonl") sink.writeJsonLine(toJson(pairs[i], r));
      else sink.write((i > 0 ? "\n" : "") + toReadable(pairs[i], r) + "\n");
    });
  } catch (err) {
    await sink.discard();
    throw err;
  }
  await sink.close();
}

function toJson(p: Required<TextInputRecord>, r: NextSentenceResult): Record<string, unknown> {
  return { text: p.text, text_pair: p.pair, is_next: r.isNext, probability: r.probability, logits: r.logits };
}

function toReadable(p: Required<TextInputRecord>, r: NextSentenceResult): string {
  const verdict = r.isNext ? "B follows A" : "B does not follow A";
  return `A: ${JSON.stringify(p.text)}\nB: ${JSON.stringify(p.pair)}\n  ${verdict} (P(is next) = ${r.probability.toFixed(4)})`;
}
