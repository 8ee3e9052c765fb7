/**
 * `pipeline(task, model)`: the one-line entry point, after Hugging Face's and transformers.js's.
 * A table maps each task id to the function that builds its pipeline; adding a task is one line
 * here and its type in PipelinesByTask.
 */
import type { ModelLocation } from "../io/model-source.js";
import type { PipelineOptions } from "./common.js";
import { fillMaskPipeline, type FillMaskPipeline } from "./fill-mask.js";
import { nextSentencePipeline, type NextSentencePipeline } from "./next-sentence.js";
import { textClassificationPipeline, type TextClassificationPipeline } from "./text-classification.js";
import { tokenClassificationPipeline, type TokenClassificationPipeline } from "./token-classification.js";
import { questionAnsweringPipeline, type QuestionAnsweringPipeline } from "./question-answering.js";
import { textRankingPipeline, type TextRankingPipeline } from "./text-ranking.js";

export type { PipelineOptions } from "./common.js";
export type {
  TextClassificationPipeline,
  TextClassificationInput,
  TextClassificationOptions,
  TextClassificationResult,
  ClassificationFunction,
  LabelScore,
} from "./text-classification.js";
export type { NextSentencePipeline, SentencePair } from "./next-sentence.js";
export type { TokenClassificationPipeline, TokenClassificationOptions, TokenClassificationResult, TokenClassificationEntity, TokenEntity, EntityGroup, AggregationStrategy } from "./token-classification.js";
export type { QuestionAnsweringPipeline, QuestionAnsweringInput, QuestionAnsweringOptions, QuestionAnsweringAnswer, QuestionAnsweringResult, QuestionAnsweringSpan } from "./question-answering.js";
export type { TextRankingPipeline, TextRankingOptions, PairScore, RankedPassage, RerankActivation } from "./text-ranking.js";
export type { FillMaskPipeline, FillMaskOptions, FillMaskPrediction, FillMaskResult, MaskPredictions } from "./fill-mask.js";

/** The pipeline type each task id gives. */
export interface PipelinesByTask {
  "text-classification": TextClassificationPipeline;
  "sentiment-analysis": TextClassificationPipeline;
  "next-sentence": NextSentencePipeline;
  "fill-mask": FillMaskPipeline;
  "token-classification": TokenClassificationPipeline;
  ner: TokenClassificationPipeline;
  "question-answering": QuestionAnsweringPipeline;
  "text-ranking": TextRankingPipeline;
}

export type PipelineTask = keyof PipelinesByTask;

const PIPELINES: { [T in PipelineTask]: (model: ModelLocation, options: PipelineOptions) => Promise<PipelinesByTask[T]> } = {
  "text-classification": textClassificationPipeline,
  "sentiment-analysis": textClassificationPipeline,
  "next-sentence": nextSentencePipeline,
  "fill-mask": fillMaskPipeline,
  "token-classification": tokenClassificationPipeline,
  ner: tokenClassificationPipeline,
  "question-answering": questionAnsweringPipeline,
  "text-ranking": textRankingPipeline,
};

export const PIPELINE_TASKS = Object.keys(PIPELINES) as PipelineTask[];

/**
 * Loads a model (a folder, or a name found in BERT_TS_MODELS, the HF cache or the hub) with its
 * tokenizer and the head for `task`.
 */
export async function pipeline<T extends PipelineTask>(task: T, model: ModelLocation, options: PipelineOptions = {}): Promise<PipelinesByTask[T]> {
  if (!Object.hasOwn(PIPELINES, task)) throw new Error(`Unknown task "${task}"; supported: ${PIPELINE_TASKS.join(", ")}`);
  const build = PIPELINES[task] as (model: ModelLocation, options: PipelineOptions) => Promise<PipelinesByTask[T]>;
  return build(model, options);
}
