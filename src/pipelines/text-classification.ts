/**
 * The "text-classification" pipeline (alias "sentiment-analysis"), after Hugging Face's
 * TextClassificationPipeline: text (or text pair) → labels with scores, best first.
 */
import type { ModelLocation } from "../io/model-source.js";
import type { BertForSequenceClassification } from "../heads/sequence-classification.js";
import { sigmoid, softmax, topK as topIndices } from "../heads/scores.js";
import type { Tokenizer } from "../tokenizers/tokenizer.js";
import { checkTopK, encodeForModel, inBatches, loadPipelineParts, type PipelineOptions, type PipelineParts } from "./common.js";

/** How logits become scores. */
export type ClassificationFunction = "softmax" | "sigmoid" | "none";

/** A text, or a pair of texts classified together ([CLS] text [SEP] textPair [SEP]). */
export type TextClassificationInput = string | { text: string; textPair?: string };

export interface TextClassificationOptions {
  /** How many labels to return, best first; null = all. Default 1, as Hugging Face's pipeline. */
  topK?: number | null;
  /**
   * Default as Hugging Face's pipeline: sigmoid for multi_label_classification or a single label,
   * else softmax (so a one-output regression model also gets a sigmoid; pass "none" for raw values).
   */
  functionToApply?: ClassificationFunction;
}

export interface LabelScore {
  label: string;
  score: number;
}

export interface TextClassificationResult {
  /** The top labels, best first. */
  labels: LabelScore[];
  /** Raw scores for every label in id order (Hugging Face's `logits`). */
  logits: number[];
  /** Tokens cut to fit the model's maximum length (0 when the whole input was read). */
  numTruncatedTokens: number;
}

export interface TextClassificationPipeline {
  (input: TextClassificationInput, options?: TextClassificationOptions): Promise<LabelScore[]>;
  (inputs: readonly TextClassificationInput[], options?: TextClassificationOptions): Promise<LabelScore[][]>;
  readonly task: "text-classification";
  readonly model: BertForSequenceClassification;
  readonly tokenizer: Tokenizer;
  /** The score function used when none is given. */
  readonly defaultFunction: ClassificationFunction;
  /** Labels and raw logits for each input, in order. */
  run(inputs: readonly TextClassificationInput[], options?: TextClassificationOptions): Promise<TextClassificationResult[]>;
}

/** Hugging Face's default choice of score function for a classifier. */
export function defaultClassificationFunction(model: BertForSequenceClassification): ClassificationFunction {
  const problem = model.model.config.problem_type;
  if (problem === "multi_label_classification" || model.numLabels === 1) return "sigmoid";
  if (problem === "single_label_classification" || model.numLabels > 1) return "softmax";
  return "none";
}

export function applyClassificationFunction(logits: ArrayLike<number>, fn: ClassificationFunction): number[] {
  if (fn === "softmax") return softmax(logits);
  if (fn === "sigmoid") return sigmoid(logits);
  if (fn === "none") return Array.from(logits);
  throw new TypeError(`Expected "softmax", "sigmoid" or "none" for functionToApply but received ${JSON.stringify(fn)}`);
}

export async function textClassificationPipeline(modelNameOrPath: ModelLocation, options: PipelineOptions = {}): Promise<TextClassificationPipeline> {
  const parts = await loadPipelineParts("text-classification", modelNameOrPath, options);
  const defaultFunction = defaultClassificationFunction(parts.head);
  const run = async (inputs: readonly TextClassificationInput[], opts: TextClassificationOptions = {}): Promise<TextClassificationResult[]> =>
    classify(parts, inputs, opts.topK === undefined ? 1 : opts.topK, opts.functionToApply ?? defaultFunction);
  async function call(input: TextClassificationInput | readonly TextClassificationInput[], opts?: TextClassificationOptions) {
    if (Array.isArray(input)) return (await run(input, opts)).map((r) => r.labels);
    return (await run([input as TextClassificationInput], opts))[0].labels;
  }
  return Object.assign(call, {
    task: "text-classification" as const,
    model: parts.head,
    tokenizer: parts.tokenizer,
    defaultFunction,
    run,
  }) as TextClassificationPipeline;
}

function classify(
  parts: PipelineParts<"text-classification">,
  inputs: readonly TextClassificationInput[],
  k: number | null,
  fn: ClassificationFunction,
): TextClassificationResult[] {
  checkTopK(k);
  const texts = inputs.map((x, i) => {
    if (typeof x === "string") return x;
    if (typeof x === "object" && x !== null && typeof x.text === "string") {
      return x.textPair === undefined ? x.text : ([x.text, x.textPair] as [string, string]);
    }
    throw new TypeError(`Expected a string or { text, textPair } for input ${i} but received ${JSON.stringify(x)}`);
  });
  const labels = parts.head.labels;
  return inBatches(texts, parts.batchSize, (batch, first) => {
    const encodings = encodeForModel(parts, batch, {}, first);
    const { logits } = parts.head.forward(encodings);
    return batch.map((_, b) => {
      const row = Array.from(logits.row(b));
      const scores = applyClassificationFunction(row, fn);
      return {
        labels: topIndices(scores, k).map((i) => ({ label: labels[i], score: scores[i] })),
        logits: row,
        numTruncatedTokens: encodings[b].numTruncatedTokens ?? 0,
      };
    });
  });
}
