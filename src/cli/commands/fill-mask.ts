/**
 * `bert-ts fill-mask`: the most likely tokens for each [MASK] in a text, with the completed text.
 * JSONL per input, in order: {"text", "masks": [{"position", "predictions": [{"score", "token",
 * "token_str", "sequence"}], "logits"? }]} — the vocabulary-wide logits only with --logits.
 */
import type { Command } from "commander";
import { pipeline } from "../../pipelines/index.js";
import type { FillMaskResult } from "../../pipelines/fill-mask.js";
import { CliError, formatTable, OutputSink, parsePositiveInt, readInputs, resolveFormat } from "../io.js";
import { applyThreads, resolveModelArg, warnIfRandomWeights, DTYPE_HELP, applyDtype } from "../model-arg.js";

interface FillMaskFlags {
  model?: string;
  input?: string;
  format?: string;
  output?: string;
  topK: number;
  target?: string[];
  logits?: boolean;
  batchSize: number;
  threads?: number;
  dtype?: string;
}

export function registerFillMask(program: Command): void {
  program
    .command("fill-mask")
    .description("Predict the tokens hidden by [MASK] in texts (masked language model)")
    .argument("[texts...]", 'texts holding the mask token, e.g. "Paris is the [MASK] of France." (else --input FILE, else stdin)')
    .requiredOption("-m, --model <id|dir>", "model folder or Hugging Face id with an MLM head (BertForMaskedLM / BertForPreTraining)")
    .option("-i, --input <file>", "texts from FILE: .jsonl (a string a line) or one text a line; - for stdin")
    .option("-f, --format <format>", "text (readable; default on a terminal) or jsonl (default otherwise)")
    .option("-o, --output <file>", "write to FILE instead of stdout")
    .option("-k, --top-k <n>", "predictions per mask", parsePositiveInt("--top-k"), 5)
    .option("--target <token>", "score only these tokens (repeat the flag for several; Hugging Face's targets)", (v: string, prev: string[] = []) => [...prev, v])
    .option("--logits", "also write each mask's logits over the whole vocabulary (jsonl)")
    .option("-b, --batch-size <n>", "texts per forward pass", parsePositiveInt("--batch-size"), 32)
    .option("-t, --threads <n>", "compute threads (native backend)", parsePositiveInt("--threads"))
    .option("--dtype <dtype>", DTYPE_HELP)
    .action(async (texts: string[], flags: FillMaskFlags) => runFillMask(texts, flags));
}

async function runFillMask(texts: string[], flags: FillMaskFlags): Promise<void> {
  const format = resolveFormat(flags.format, flags.output);
  applyThreads(flags.threads);
  applyDtype(flags.dtype);
  const records = await readInputs({ args: texts, input: flags.input });
  const inputs = records.map((r, i) => {
    if (r.pair !== undefined) throw new CliError(`Input ${i + 1} is a pair; fill-mask takes single texts`);
    return r.text;
  });
  const dir = await resolveModelArg(flags.model);
  warnIfRandomWeights(dir);
  const fill = await pipeline("fill-mask", dir, { batchSize: flags.batchSize });
  let results: FillMaskResult[];
  try {
    results = await fill.run(inputs, { topK: flags.topK, targets: flags.target, onWarning: (m) => process.stderr.write(`bert-ts: note: ${m}\n`) });
  } catch (err) {
    if (err instanceof Error && err.message.startsWith("No mask token")) throw new CliError(`${err.message}; write ${fill.maskToken} where a word is missing`);
    if (err instanceof Error && err.message.startsWith("At least one target")) throw new CliError(err.message);
    throw err;
  }
  const sink = new OutputSink(flags.output);
  try {
    results.forEach((r, i) => {
      if (format === "jsonl") sink.writeJsonLine(toJson(inputs[i], r, flags.logits === true));
      else sink.write((i > 0 ? "\n" : "") + toReadable(inputs[i], r) + "\n");
    });
  } catch (err) {
    await sink.discard();
    throw err;
  }
  await sink.close();
}

function toJson(text: string, r: FillMaskResult, withLogits: boolean): Record<string, unknown> {
  return {
    text,
    masks: r.masks.map((m) => ({
      position: m.position,
      predictions: m.predictions.map(({ score, token, token_str, sequence }) => ({ score, token, token_str, sequence })),
      ...(withLogits ? { logits: Array.from(m.logits) } : {}),
    })),
  };
}

function toReadable(text: string, r: FillMaskResult): string {
  const parts = r.masks.map((m, k) => {
    const rows = m.predictions.map((p) => ["    " + p.score.toFixed(4), p.token_str, p.sequence]);
    const title = r.masks.length > 1 ? `  mask ${k + 1} (token ${m.position}):\n` : "";
    return title + formatTable([["    score", "token", "sequence"], ...rows], [true, false, false]);
  });
  return `${JSON.stringify(text)}\n${parts.join("\n")}`;
}
