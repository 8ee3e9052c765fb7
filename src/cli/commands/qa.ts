/**
 * `bert-ts qa`: extractive question answering through the question-answering pipeline.
 * Inputs: --question with --context; or --question with contexts as texts (arguments, --input,
 * stdin); or pairs [question, context] from a .jsonl file. JSONL per input, in order:
 * {"question", "context", "answer", "score", "start", "end", "answers", "start_logits", "end_logits"}
 * with the logits as [windows][tokens] (Hugging Face's model outputs for the pipeline's features).
 */
import type { Command } from "commander";
import { pipeline } from "../../pipelines/index.js";
import type { QuestionAnsweringInput, QuestionAnsweringResult } from "../../pipelines/question-answering.js";
import { CliError, formatTable, OutputSink, parsePositiveInt, readInputs, resolveFormat } from "../io.js";
import { applyThreads, resolveModelArg, warnIfRandomWeights, DTYPE_HELP, applyDtype } from "../model-arg.js";

interface QaFlags {
  model?: string;
  question?: string;
  context?: string;
  input?: string;
  format?: string;
  output?: string;
  topK: number;
  maxAnswerLen: number;
  docStride?: number;
  maxSeqLen?: number;
  impossible?: boolean;
  batchSize: number;
  threads?: number;
  dtype?: string;
}

export function registerQa(program: Command): void {
  program
    .command("qa")
    .description("Answer a question from a context (extractive QA): answer span, score and character offsets")
    .argument("[contexts...]", "contexts for --question (else --input FILE, else lines on stdin)")
    .requiredOption("-m, --model <id|dir>", "model folder or Hugging Face id (a BertForQuestionAnswering checkpoint)")
    .option("-q, --question <text>", "the question (for --context, or for every context given)")
    .option("-c, --context <text>", "the context to answer from")
    .option("-i, --input <file>", "FILE: .jsonl with [question, context] a line (or contexts, with --question); - for stdin")
    .option("-f, --format <format>", "text (readable; default on a terminal) or jsonl (default otherwise)")
    .option("-o, --output <file>", "write to FILE instead of stdout")
    .option("-k, --top-k <n>", "answers per question, best first", parsePositiveInt("--top-k"), 1)
    .option("--max-answer-len <n>", "longest answer in tokens", parsePositiveInt("--max-answer-len"), 15)
    .option("--doc-stride <n>", "tokens shared by consecutive context windows (default min(max-seq-len/2, 128))", parsePositiveInt("--doc-stride"))
    .option("--max-seq-len <n>", "window length in tokens (default min(model maximum, 384))", parsePositiveInt("--max-seq-len"))
    .option("--impossible", "allow the empty answer when the null ([CLS]) score wins (SQuAD 2.0)")
    .option("-b, --batch-size <n>", "windows per forward pass", parsePositiveInt("--batch-size"), 32)
    .option("-t, --threads <n>", "compute threads (native backend)", parsePositiveInt("--threads"))
    .option("--dtype <dtype>", DTYPE_HELP)
    .action(async (contexts: string[], flags: QaFlags) => runQa(contexts, flags));
}

async function readQuestions(contexts: string[], flags: QaFlags): Promise<QuestionAnsweringInput[]> {
  if (flags.context !== undefined) {
    if (flags.question === undefined) throw new CliError("--context needs --question");
    if (contexts.length > 0 || flags.input !== undefined) throw new CliError("Give the context either with --context or as input, not both");
    return [{ question: flags.question, context: flags.context }];
  }
  const records = await readInputs({ args: contexts, input: flags.input });
  return records.map((r, i) => {
    if (flags.question !== undefined) {
      if (r.pair !== undefined) throw new CliError(`input ${i + 1} is a pair; with --question give contexts only`);
      return { question: flags.question, context: r.text };
    }
    if (r.pair === undefined) throw new CliError(`input ${i + 1} has no context: give --question, or [question, context] pairs in a .jsonl file`);
    return { question: r.text, context: r.pair };
  });
}

async function runQa(contexts: string[], flags: QaFlags): Promise<void> {
  const format = resolveFormat(flags.format, flags.output);
  applyThreads(flags.threads);
  applyDtype(flags.dtype);
  const inputs = await readQuestions(contexts, flags);
  const dir = await resolveModelArg(flags.model);
  warnIfRandomWeights(dir);
  const qa = await pipeline("question-answering", dir, { batchSize: flags.batchSize });
  const results = await qa.run(inputs, {
    topK: flags.topK,
    maxAnswerLen: flags.maxAnswerLen,
    docStride: flags.docStride,
    maxSeqLen: flags.maxSeqLen,
    handleImpossibleAnswer: flags.impossible === true,
  });
  const sink = new OutputSink(flags.output);
  try {
    results.forEach((r, i) => {
      if (format === "jsonl") sink.writeJsonLine(toJson(inputs[i], r));
      else sink.write((i > 0 ? "\n" : "") + toReadable(inputs[i], r) + "\n");
    });
  } catch (err) {
    await sink.discard();
    throw err;
  }
  await sink.close();
}

function toJson(input: QuestionAnsweringInput, r: QuestionAnsweringResult): Record<string, unknown> {
  const best = r.answers[0] ?? { answer: "", score: 0, start: 0, end: 0 };
  return {
    question: input.question,
    context: input.context,
    answer: best.answer,
    score: best.score,
    start: best.start,
    end: best.end,
    answers: r.answers,
    start_logits: r.spans.map((s) => s.startLogits),
    end_logits: r.spans.map((s) => s.endLogits),
  };
}

function toReadable(input: QuestionAnsweringInput, r: QuestionAnsweringResult): string {
  const head = `Q: ${JSON.stringify(input.question)}`;
  if (r.answers.length === 0) return `${head}\n  (no answer)`;
  const rows = r.answers.map((a) => ["  " + a.score.toFixed(4), `${a.start}-${a.end}`, JSON.stringify(a.answer)]);
  return `${head}\n${formatTable([["  score", "span", "answer"], ...rows], [true, true, false])}`;
}
