/**
 * `bert-ts embed --pooling splade`: SPLADE vectors from a masked-LM checkpoint. JSONL per input, in
 * order: {"text", "indices" (ascending vocabulary ids), "values", "tokens"? (with --tokens)}.
 */
import { SparseEncoder } from "../pipelines/sparse-encoder.js";
import { CliError, OutputSink } from "./io.js";
import { DEFAULT_EMBEDDING_MODEL, applyThreads, resolveModelArg, warnIfRandomWeights } from "./model-arg.js";

export interface SparseEmbedFlags {
  model?: string;
  output?: string;
  maxLength?: number;
  batchSize: number;
  threads?: number;
  topK?: number;
  tokens?: boolean;
  longInputs: string;
  prompt?: string;
  promptName?: string;
}

export async function runSparseEmbed(inputs: readonly string[], flags: SparseEmbedFlags, format: string): Promise<void> {
  if (format !== "jsonl" && format !== "text") throw new CliError(`--pooling splade writes jsonl or text, not ${format}`);
  if (flags.longInputs !== "truncate" && flags.longInputs !== "error") throw new CliError(`--pooling splade takes --long-inputs truncate or error, not ${flags.longInputs}`);
  applyThreads(flags.threads);
  const dir = await resolveModelArg(flags.model, DEFAULT_EMBEDDING_MODEL);
  warnIfRandomWeights(dir);
  const encoder = await SparseEncoder.load(dir, { maxLength: flags.maxLength });
  let truncated = 0;
  const vectors = await encoder.embed(inputs, {
    topK: flags.topK,
    prompt: flags.prompt,
    promptName: flags.promptName,
    batchSize: flags.batchSize,
    onTruncate: (i, n, max) => {
      if (flags.longInputs === "error") throw new CliError(`Text ${i} has ${n} tokens, more than maxLength ${max}`);
      truncated++;
    },
  });
  const sink = new OutputSink(flags.output);
  try {
    vectors.forEach((v, i) => {
      const tokens = flags.tokens || format === "text" ? encoder.tokens(v) : undefined;
      if (format === "jsonl") sink.writeJsonLine({ text: inputs[i], indices: Array.from(v.indices), values: Array.from(v.values), ...(tokens ? { tokens } : {}) });
      else {
        const best = [...v.values.keys()].sort((a, b) => v.values[b] - v.values[a]).slice(0, 8);
        sink.write(`${JSON.stringify(inputs[i])}\n  [${v.indices.length} of ${encoder.dimension}] ${best.map((k) => `${tokens![k]}:${v.values[k].toFixed(3)}`).join(" ")}\n`);
      }
    });
  } finally {
    await sink.close();
  }
  if (truncated > 0) process.stderr.write(`bert-ts: ${truncated} text(s) were longer than ${encoder.maxLength} tokens and were truncated\n`);
}
