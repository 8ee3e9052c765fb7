/**
 * `bert-ts similarity`: how alike are these texts? An n×n score matrix (cosine by default), drawn
 * as a coloured heatmap on a terminal, plain numbers elsewhere, or one JSON object for programs.
 * `--pooling-compare` runs the encoder once and scores the same texts under cls, pooler, mean and
 * max pooling, to show how much the sentence vector's recipe moves the scores.
 */
import type { Command } from "commander";
import type { SentenceEncoder } from "../../pipelines/sentence-encoder.js";
import { maxSim } from "../../pooling/maxsim.js";
import { needsHiddenStates, pool } from "../../pooling/pool.js";
import { similarity, type SimilarityFunction } from "../../pooling/similarity.js";
import type { PoolingStrategy } from "../../pooling/strategies.js";
import { addEncoderOptions, describeEncoder, loadEncoderFromFlags, parseEncoderFlags, type EncoderFlags } from "../encoder-flags.js";
import { clip, paint, renderHeatmap, resolveColorMode, scaleColor, type ColorMode } from "../heatmap.js";
import { CliError, OutputSink, parsePositiveInt, readInputs, resolveFormat } from "../io.js";

interface SimilarityFlags extends EncoderFlags {
  input?: string;
  format?: string;
  output?: string;
  poolingCompare?: boolean;
  maxsim?: boolean;
  color: string;
  digits: number;
}

/** The strategies --pooling-compare lines up, in this order. */
const COMPARED: readonly PoolingStrategy[] = ["cls", "pooler", "mean", "max"];

export function registerSimilarity(program: Command): void {
  const command = program
    .command("similarity")
    .description("Score every pair of texts (cosine by default): a heatmap on a terminal, a matrix in JSON otherwise")
    .argument("[texts...]", "two or more texts (else --input FILE, else lines on stdin)")
    .option("-i, --input <file>", "texts from FILE: .jsonl (a string a line) or one text a line; - for stdin")
    .option("-f, --format <format>", "text (heatmap; default on a terminal) or jsonl (default otherwise)")
    .option("-o, --output <file>", "write to FILE instead of stdout")
    .option("--pooling-compare", "score the texts under cls, pooler, mean and max pooling side by side (one forward pass)")
    .option("--maxsim", "late interaction (ColBERT MaxSim): matrix[i][j] = Σ over tokens of text i of the best dot product with a token of text j (token vectors L2-normalised unless --no-normalize)")
    .option("--color <when>", "colour the heatmap: auto (terminal, unless NO_COLOR is set), always or never", "auto")
    .option("--digits <n>", "decimals shown in text output", parsePositiveInt("--digits"), 3);
  addEncoderOptions(command)
    .addHelpText(
      "after",
      `
Output:
  text   the matrix with rows and columns numbered like the texts listed under it, and the most
         similar pairs; cells are coloured from the lowest to the highest off-diagonal score
         (ANSI colours only on a terminal and never with NO_COLOR set).
  jsonl  one JSON object: {"texts": [...], "matrix": [[...]], "pooling", "normalize", "score"};
         matrix[i][j] is the score of texts[i] and texts[j], full precision.
         With --pooling-compare, one such object per pooling strategy, a line each
         (a strategy the checkpoint cannot give, e.g. pooler without pooler weights, is skipped
         with a note on stderr).

Examples:
  $ bert-ts similarity "A man is eating food." "A man eats pasta." "The sky is blue."
  $ bert-ts similarity --input sentences.txt --format jsonl > matrix.json
  $ bert-ts similarity --pooling-compare -m ./my-bert "first text" "second text" "third text"
  $ cat lines.txt | bert-ts similarity --pooling mean --layers last4-mean`,
    )
    .action(async (texts: string[], flags: SimilarityFlags) => runSimilarity(texts, flags));
}

async function runSimilarity(args: string[], flags: SimilarityFlags): Promise<void> {
  const format = resolveFormat(flags.format, flags.output);
  const { pooling, score } = parseEncoderFlags(flags);
  const color: ColorMode = flags.output === undefined && format === "text" ? colorMode(flags.color) : "none";
  const records = await readInputs({ args, input: flags.input });
  const texts = records.map((r) => {
    if (r.pair !== undefined) throw new CliError("similarity takes single texts, not pairs (every text is scored against every other)");
    return r.text;
  });
  if (texts.length < 2) throw new CliError(`similarity needs at least two texts, got ${texts.length}`);
  if (flags.poolingCompare && pooling !== undefined) throw new CliError("--pooling-compare shows several poolings; drop --pooling");
  if (flags.maxsim && (pooling !== undefined || flags.poolingCompare)) throw new CliError("--maxsim compares token vectors; drop --pooling and --pooling-compare");

  const encoder = flags.maxsim ? await loadEncoderFromFlags({ ...flags, normalize: flags.normalize ?? true }, "none") : await loadEncoderFromFlags(flags, pooling);
  if (process.stderr.isTTY) process.stderr.write(`bert-ts: ${describeEncoder(encoder)}\n`);
  let truncated = 0;
  const onTruncate = () => void truncated++;
  const sink = new OutputSink(flags.output);
  try {
    if (flags.poolingCompare) {
      const results = await compareMatrices(encoder, texts, score, flags.batchSize, onTruncate);
      if (format === "jsonl") {
        for (const r of results) sink.writeJsonLine({ texts, pooling: r.strategy, normalize: encoder.normalize, score, matrix: r.matrix });
      } else {
        sink.write(renderComparison(texts, results, encoder.info.strategy, flags.digits, color));
      }
    } else {
      const matrix = flags.maxsim ? await maxSimMatrix(encoder, texts, flags.batchSize, onTruncate) : scoreMatrix(await encoder.embed(texts, { batchSize: flags.batchSize, onTruncate }), score);
      if (format === "jsonl") {
        sink.writeJsonLine({ texts, pooling: encoder.info.strategy, normalize: encoder.normalize, score: flags.maxsim ? "maxsim" : score, matrix });
      } else {
        const title = `${flags.maxsim ? "MaxSim (late interaction)" : score} similarity; pooling ${encoder.info.strategy}${encoder.normalize ? " + L2 normalise" : ""}`;
        // A matrix wider than the terminal wraps into noise: list the closest pairs instead.
        // A terminal that reports no width (columns 0, e.g. a fresh pty or some CI consoles) gets the matrix.
        const columns = flags.output === undefined && process.stdout.columns > 0 ? process.stdout.columns : undefined;
        const width = String(texts.length).length + 3 + texts.length * (flags.digits + 5);
        if (columns !== undefined && width > columns) {
          sink.write(`${title}\n${texts.length} texts make a matrix wider than this terminal (${columns} columns); use --format jsonl for all of it.\n`);
          sink.write(topPairs(texts, matrix, flags.digits, 20));
        } else {
          sink.write(renderHeatmap(texts, matrix, { color, digits: flags.digits, title }));
          sink.write(topPairs(texts, matrix, flags.digits));
        }
      }
    }
  } catch (err) {
    await sink.discard();
    throw err;
  }
  await sink.close();
  if (truncated > 0) {
    process.stderr.write(`bert-ts: ${truncated} text(s) were longer than ${encoder.maxLength} tokens and were truncated (raise --max-length up to the model's limit)\n`);
  }
}

/** matrix[i][j] = MaxSim(tokens of text i, tokens of text j). */
async function maxSimMatrix(encoder: SentenceEncoder, texts: readonly string[], batchSize: number, onTruncate: () => void): Promise<number[][]> {
  const tokens = (await encoder.tokenEmbeddings(texts, { batchSize, onTruncate })).map((t) => t.vectors);
  return tokens.map((q) => tokens.map((d) => maxSim(q, d)));
}

function colorMode(when: string): ColorMode {
  try {
    return resolveColorMode(when);
  } catch (err) {
    throw new CliError((err as Error).message);
  }
}

function scoreMatrix(vectors: readonly Float32Array[], fn: SimilarityFunction): number[][] {
  return vectors.map((a) => vectors.map((b) => similarity(a, b, fn)));
}

/** The most similar distinct pairs, best first, as a short list under the heatmap. */
function topPairs(texts: readonly string[], matrix: readonly number[][], digits: number, count = 5): string {
  const pairs: { i: number; j: number; s: number }[] = [];
  for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++) pairs.push({ i, j, s: matrix[i][j] });
  pairs.sort((a, b) => b.s - a.s);
  const shown = pairs.slice(0, count);
  const lines = shown.map((p) => `  ${p.s.toFixed(digits)}  [${p.i + 1}] ${clip(texts[p.i], 30)}  ~  [${p.j + 1}] ${clip(texts[p.j], 30)}`);
  return `\nmost similar pair${shown.length > 1 ? "s" : ""}:\n${lines.join("\n")}\n`;
}

interface StrategyMatrix {
  strategy: PoolingStrategy;
  matrix: number[][];
}

/**
 * One forward pass, pooled four ways. Texts are truncated to the encoder's limit, as embed() does
 * by default; normalisation follows the encoder (cosine does not change with it).
 */
async function compareMatrices(
  encoder: SentenceEncoder,
  texts: readonly string[],
  fn: SimilarityFunction,
  batchSize: number,
  onTruncate: () => void,
): Promise<StrategyMatrix[]> {
  const strategies = COMPARED.filter((s) => {
    if (s !== "pooler") return true;
    if (!encoder.model.hasPooler) {
      process.stderr.write(`bert-ts: note: skipping pooler: ${encoder.modelDir} has no pooler weights (the checkpoint was saved without BERT's pooling layer)\n`);
      return false;
    }
    if (encoder.layers.kind !== "last") {
      process.stderr.write("bert-ts: note: skipping pooler: it reads the last layer only, and --layers chose others\n");
      return false;
    }
    return true;
  });
  const encodings = texts.map((t) => {
    const e = encoder.tokenizer.encode(t, undefined, { truncation: true, maxLength: encoder.maxLength });
    if ((e.numTruncatedTokens ?? 0) > 0) onTruncate();
    return e;
  });
  const vectors = new Map<PoolingStrategy, Float32Array[]>(strategies.map((s) => [s, []]));
  const numLayers = encoder.model.config.num_hidden_layers;
  for (let start = 0; start < encodings.length; start += batchSize) {
    const batch = encodings.slice(start, start + batchSize);
    const out = encoder.model.forward(batch, { outputHiddenStates: needsHiddenStates({ strategy: "mean", layers: encoder.layers }) });
    for (const s of strategies) {
      // The pooler always reads the last layer (checked above); the others follow --layers.
      const layers = s === "pooler" ? undefined : encoder.layers;
      vectors.get(s)?.push(...pool(out, { strategy: s, layers, normalize: encoder.normalize }, numLayers));
    }
    await new Promise<void>((resolve) => setImmediate(resolve));
  }
  return strategies.map((s) => ({ strategy: s, matrix: scoreMatrix(vectors.get(s) ?? [], fn) }));
}

/** Pairs as rows, strategies as columns; each column coloured on its own range, plus rank agreement. */
function renderComparison(texts: readonly string[], results: readonly StrategyMatrix[], modelDefault: PoolingStrategy, digits: number, color: ColorMode): string {
  const pairs: [number, number][] = [];
  for (let i = 0; i < texts.length; i++) for (let j = i + 1; j < texts.length; j++) pairs.push([i, j]);
  const columns = results.map((r) => pairs.map(([i, j]) => r.matrix[i][j]));
  const header = ["pair", ...results.map((r) => (r.strategy === modelDefault ? `${r.strategy}*` : r.strategy))];
  const labels = pairs.map(([i, j]) => `[${i + 1}]~[${j + 1}]`);
  const cells = columns.map((c) => c.map((v) => v.toFixed(digits)));
  const labelWidth = Math.max(header[0].length, ...labels.map((l) => l.length));
  const widths = cells.map((c, k) => Math.max(header[k + 1].length, ...c.map((x) => x.length)));
  const lines = [`score by pooling strategy (* = the model's default), ${texts.length} texts:`];
  lines.push([header[0].padEnd(labelWidth), ...header.slice(1).map((h, k) => ` ${h.padStart(widths[k])} `)].join(" ").trimEnd());
  pairs.forEach((_, p) => {
    const row = columns.map((c, k) => {
      const lo = Math.min(...c);
      const hi = Math.max(...c);
      // Each strategy on its own range: their absolute levels differ, their orderings are what compare.
      return paint(` ${cells[k][p].padStart(widths[k])} `, scaleColor(hi > lo ? (c[p] - lo) / (hi - lo) : 1), color);
    });
    lines.push([labels[p].padEnd(labelWidth), ...row].join(" ").trimEnd());
  });
  lines.push("");
  texts.forEach((t, i) => lines.push(`[${i + 1}] ${clip(t, 72)}`));
  const baseIndex = Math.max(0, results.findIndex((r) => r.strategy === modelDefault));
  if (pairs.length >= 3 && results.length > 1) {
    lines.push("", `rank agreement with ${results[baseIndex].strategy} over the ${pairs.length} pairs (Spearman):`);
    results.forEach((r, k) => {
      if (k !== baseIndex) lines.push(`  ${r.strategy.padEnd(7)} ${spearman(columns[baseIndex], columns[k]).toFixed(2)}`);
    });
  }
  return lines.join("\n") + "\n";
}

function ranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => ({ v, i })).sort((a, b) => a.v - b.v);
  const r = new Array<number>(values.length);
  for (let k = 0; k < order.length; ) {
    let end = k;
    while (end + 1 < order.length && order[end + 1].v === order[k].v) end++;
    for (let m = k; m <= end; m++) r[order[m].i] = (k + end) / 2; // ties share the mean rank
    k = end + 1;
  }
  return r;
}

function spearman(a: readonly number[], b: readonly number[]): number {
  const [ra, rb] = [ranks(a), ranks(b)];
  const mean = (x: number[]) => x.reduce((s, v) => s + v, 0) / x.length;
  const [ma, mb] = [mean(ra), mean(rb)];
  let num = 0, da = 0, db = 0;
  for (let i = 0; i < ra.length; i++) {
    num += (ra[i] - ma) * (rb[i] - mb);
    da += (ra[i] - ma) ** 2;
    db += (rb[i] - mb) ** 2;
  }
  return da === 0 || db === 0 ? 0 : num / Math.sqrt(da * db);
}
