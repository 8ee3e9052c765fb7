/**
 * The embedding options `similarity` and `search` share (model, pooling, normalisation, layers,
 * length, threads, score function), declared once so both commands read and document them alike.
 */
import type { Command } from "commander";
import { SentenceEncoder } from "../pipelines/sentence-encoder.js";
import { parseLayerSelection, type LayerSelection } from "../pooling/layers.js";
import type { SimilarityFunction } from "../pooling/similarity.js";
import { parsePoolingStrategy, type PoolingStrategy } from "../pooling/strategies.js";
import { CliError, parsePositiveInt } from "./io.js";
import { DEFAULT_EMBEDDING_MODEL, applyThreads, resolveModelForCli, warnIfRandomWeights, DTYPE_HELP, applyDtype } from "./model-arg.js";

export interface EncoderFlags {
  model?: string;
  pooling?: string;
  normalize?: boolean;
  layers?: string;
  maxLength?: number;
  batchSize: number;
  threads?: number;
  dtype?: string;
  score: string;
}

const SCORES: readonly SimilarityFunction[] = ["cosine", "dot", "euclidean"];

export function addEncoderOptions(command: Command): Command {
  return command
    .option("-m, --model <id|dir>", "model folder or Hugging Face id", DEFAULT_EMBEDDING_MODEL)
    .option("-p, --pooling <strategy>", "pooler, cls, mean, max, mean_sqrt_len, cls_mean, weighted_mean, last or cls_attention (default: the model's own)")
    .option("--normalize", "L2-normalise the vectors (default: the model's own setting; cosine is unchanged by it)")
    .option("--no-normalize", "do not L2-normalise")
    .option("--layers <which>", "last (default), first-last-avg, lastK-mean, lastK-concat, or indices like -1,-2")
    .option("--max-length <n>", "token limit per text; longer texts are truncated (default: the model's)", parsePositiveInt("--max-length"))
    .option("--score <fn>", "cosine, dot or euclidean (negative distance: higher is closer)", "cosine")
    .option("-b, --batch-size <n>", "texts per forward pass", parsePositiveInt("--batch-size"), 32)
    .option("-t, --threads <n>", "compute threads (native backend)", parsePositiveInt("--threads"))
    .option("--dtype <dtype>", DTYPE_HELP);
}

export function parseScore(score: string): SimilarityFunction {
  if (!(SCORES as readonly string[]).includes(score)) throw new CliError(`Unknown --score ${JSON.stringify(score)}: expected ${SCORES.join(", ")}`);
  return score as SimilarityFunction;
}

/** --pooling as a strategy (undefined when absent); a bad name is a usage error. */
export function parsePoolingFlag(value: string | undefined): PoolingStrategy | undefined {
  try {
    return value === undefined ? undefined : parsePoolingStrategy(value);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

/** --layers as a selection (undefined when absent); a bad spelling is a usage error. */
export function parseLayersFlag(value: string | undefined): LayerSelection | undefined {
  try {
    return value === undefined ? undefined : parseLayerSelection(value);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

/** Validates the flags before any slow work, so a typo fails at once. */
export function parseEncoderFlags(flags: EncoderFlags): { pooling?: PoolingStrategy; score: SimilarityFunction } {
  const score = parseScore(flags.score);
  const pooling = parsePoolingFlag(flags.pooling);
  if (pooling === undefined) return { score };
  if (pooling === "none") throw new CliError('--pooling none gives token vectors, not one vector per text; choose another strategy (or use `bert-ts embed --pooling none`)');
  return { pooling, score };
}

/** Resolves the model (printing the random-weights note) and loads the encoder the flags describe. */
export async function loadEncoderFromFlags(flags: EncoderFlags, pooling: PoolingStrategy | undefined): Promise<SentenceEncoder> {
  applyThreads(flags.threads);
  applyDtype(flags.dtype);
  const layers = parseLayersFlag(flags.layers);
  const { dir } = await resolveModelForCli(flags.model ?? DEFAULT_EMBEDDING_MODEL);
  warnIfRandomWeights(dir);
  const encoder = await SentenceEncoder.load(dir, { pooling, normalize: flags.normalize, maxLength: flags.maxLength, layers });
  warnIfPoolingOverridden(encoder);
  return encoder;
}

/**
 * Always (terminal or not), once: a pooling other than the model's own changes what the vectors
 * mean, so say so where scripts' logs will keep it.
 */
export function warnIfPoolingOverridden(encoder: SentenceEncoder): void {
  const own = encoder.info.modelDefault;
  if (encoder.pooling === own.strategy) return;
  const norm = encoder.normalize === own.normalize ? "" : encoder.normalize ? "; L2-normalising" : "; not normalising (--no-normalize)";
  process.stderr.write(`bert-ts: note: pooling ${encoder.pooling} differs from the model's own ${own.strategy}${own.normalize ? " + L2 normalise" : ""} (${own.source})${norm}\n`);
}

/** One line on stderr saying how vectors are made (terminal only: pipes stay quiet). */
export function describeEncoder(encoder: SentenceEncoder): string {
  const info = encoder.info;
  return `${encoder.model.backend.name}; pooling ${info.strategy}${info.normalize ? " + L2 normalise" : ""} (${info.source}); max ${info.maxLength} tokens`;
}
