/**
 * The "next-sentence" pipeline: does sentence B follow sentence A? (BERT's pre-training NSP task;
 * Hugging Face has no pipeline for it, so the result is BertForNextSentencePrediction's verdict.)
 */
import type { ModelLocation } from "../io/model-source.js";
import type { BertForNextSentencePrediction, NextSentenceResult } from "../heads/next-sentence.js";
import type { Tokenizer } from "../tokenizers/tokenizer.js";
import { encodeForModel, inBatches, loadPipelineParts, type PipelineOptions } from "./common.js";

/** [sentence A, sentence B]. */
export type SentencePair = readonly [string, string];

export interface NextSentencePipeline {
  (pair: SentencePair): Promise<NextSentenceResult>;
  (pairs: readonly SentencePair[]): Promise<NextSentenceResult[]>;
  readonly task: "next-sentence";
  readonly model: BertForNextSentencePrediction;
  readonly tokenizer: Tokenizer;
  /** One verdict per pair, in order. */
  run(pairs: readonly SentencePair[]): Promise<NextSentenceResult[]>;
}

function isPair(x: unknown): x is SentencePair {
  return Array.isArray(x) && x.length === 2 && typeof x[0] === "string" && typeof x[1] === "string";
}

export async function nextSentencePipeline(modelNameOrPath: ModelLocation, options: PipelineOptions = {}): Promise<NextSentencePipeline> {
  const parts = await loadPipelineParts("next-sentence", modelNameOrPath, options);
  const run = async (pairs: readonly SentencePair[]): Promise<NextSentenceResult[]> => {
    pairs.forEach((p, i) => {
      if (!isPair(p)) throw new TypeError(`Expected a pair of strings [A, B] for input ${i} but received ${JSON.stringify(p)}`);
    });
    return inBatches(pairs, parts.batchSize, (batch, first) => parts.head.predict(encodeForModel(parts, batch.map((p) => [p[0], p[1]]), {}, first)));
  };
  async function call(input: SentencePair | readonly SentencePair[]) {
    if (isPair(input)) return (await run([input]))[0];
    if (!Array.isArray(input)) throw new TypeError(`Expected [A, B] or a list of such pairs but received ${JSON.stringify(input)}`);
    return run(input);
  }
  return Object.assign(call, { task: "next-sentence" as const, model: parts.head, tokenizer: parts.tokenizer, run }) as NextSentencePipeline;
}
