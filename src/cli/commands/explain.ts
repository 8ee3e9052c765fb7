/**
 * `bert-ts explain`: what the pooling layer looks at. One row per token with a bar for its share
 * under the chosen pooling (cls_attention: the attention weights; mean: the uniform share; max: how
 * many dimensions each token wins). `--format jsonl` gives the numbers:
 * {"text", "pooling", "measure": "weight" | "dimensions_won", "tokens", "offsets", "values"}.
 */
import type { Command } from "commander";
import { SentenceEncoder } from "../../pipelines/sentence-encoder.js";
import type { LayerSelection } from "../../pooling/layers.js";
import type { PoolingStrategy } from "../../pooling/strategies.js";
import { parseLayersFlag, parsePoolingFlag } from "../encoder-flags.js";
import { CliError, OutputSink, parsePositiveInt, readInputs, resolveFormat } from "../io.js";
import { DEFAULT_EMBEDDING_MODEL, applyThreads, resolveModelArg, warnIfRandomWeights, DTYPE_HELP, applyDtype } from "../model-arg.js";

interface ExplainFlags {
  model?: string;
  input?: string;
  format?: string;
  output?: string;
  pooling?: string;
  layers?: string;
  maxLength?: number;
  threads?: number;
  dtype?: string;
}

const BAR_WIDTH = 40;

export function registerExplain(program: Command): void {
  program
    .command("explain")
    .description("Show what the pooling looks at: each token's weight (or, for max, the dimensions it wins)")
    .argument("[texts...]", "texts to explain (else --input FILE, else lines on stdin)")
    .option("-m, --model <id|dir>", "model folder or Hugging Face id", DEFAULT_EMBEDDING_MODEL)
    .option("-i, --input <file>", "texts from FILE (.txt a line each, .jsonl strings); - for stdin")
    .option("-p, --pooling <strategy>", "cls_attention, mean, max, cls, pooler, last, weighted_mean, mean_sqrt_len or cls_mean (default: the model's own)")
    .option("--layers <which>", "token vectors for max: last (default), first-last-avg, lastK-mean, ...")
    .option("--max-length <n>", "token limit per text; longer texts are truncated (default: the model's)", parsePositiveInt("--max-length"))
    .option("-f, --format <format>", "text (bars) or jsonl (the numbers); default text on a terminal, jsonl when piped")
    .option("-o, --output <file>", "write to FILE instead of stdout")
    .option("-t, --threads <n>", "compute threads (native backend)", parsePositiveInt("--threads"))
    .option("--dtype <dtype>", DTYPE_HELP)
    .action(async (texts: string[], flags: ExplainFlags) => runExplain(texts, flags));
}

async function runExplain(texts: string[], flags: ExplainFlags): Promise<void> {
  const format = resolveFormat(flags.format, flags.output);
  const pooling = parsePoolingFlag(flags.pooling);
  const layers = parseLayersFlag(flags.layers);
  if (pooling === "none") throw new CliError('--pooling none keeps every token vector: there is nothing to explain');
  applyThreads(flags.threads);
  applyDtype(flags.dtype);
  const records = await readInputs({ args: texts, input: flags.input });
  const dir = await resolveModelArg(flags.model, DEFAULT_EMBEDDING_MODEL);
  warnIfRandomWeights(dir);
  // Normalisation scales the pooled vector, not the tokens' shares: it does not change the picture.
  const encoder = await SentenceEncoder.load(dir, { pooling, layers, maxLength: flags.maxLength });
  const sink = new OutputSink(flags.output);
  try {
    for (const { text, pair } of records) {
      if (pair !== undefined) throw new CliError("explain takes single texts, not pairs");
      const e = encoder.explain(text);
      if (format === "jsonl") {
        sink.writeJsonLine({ text, pooling: e.strategy, measure: e.measure, tokens: e.tokens, offsets: e.offsets, values: e.values });
        continue;
      }
      const unit = e.measure === "weight" ? "weight" : "dimensions won";
      sink.write(`${JSON.stringify(text)}\n  pooling ${e.strategy} (${encoder.poolingSource}): ${unit} per token\n`);
      const top = Math.max(...e.values);
      const tokenWidth = Math.min(24, Math.max(...e.tokens.map((t) => t.length)));
      e.tokens.forEach((token, t) => {
        const v = e.values[t];
        const number = e.measure === "weight" ? v.toFixed(4) : String(v).padStart(6);
        sink.write(`  ${token.slice(0, 24).padEnd(tokenWidth)}  ${number}  ${bar(top > 0 ? v / top : 0)}\n`);
      });
    }
  } finally {
    await sink.close();
  }
}

/** A horizontal bar of BAR_WIDTH cells at most, in eighths of a cell. */
function bar(fraction: number): string {
  const eighths = Math.round(Math.max(0, Math.min(1, fraction)) * BAR_WIDTH * 8);
  const partial = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"][eighths % 8];
  return "█".repeat(Math.floor(eighths / 8)) + partial;
}
