/**
 * Task heads and the registry that builds one from a model folder: task → head class, and
 * config.json `architectures` → the tasks whose head weights such a checkpoint carries.
 * Adding a head is one line in each table below (and its type in HeadsByTask).
 */
import type { BertConfig } from "../config/bert-config.js";
import { BertModel, type LoadOptions } from "../models/bert/model.js";
import { familyFor } from "../models/registry.js";
import { BertForMaskedLM } from "./masked-lm.js";
import { BertForNextSentencePrediction } from "./next-sentence.js";
import { BertForSequenceClassification } from "./sequence-classification.js";
import { BertForTokenClassification } from "./token-classification.js";
import { BertForQuestionAnswering } from "./question-answering.js";
import { ownEntry } from "../io/model-files.js";

export { BertForSequenceClassification, type ProblemType, type SequenceClassifierOutput } from "./sequence-classification.js";
export { BertForNextSentencePrediction, type NextSentenceOutput, type NextSentenceResult } from "./next-sentence.js";
export { BertForMaskedLM, type MaskedLMOptions, type MaskedLMOutput } from "./masked-lm.js";
export { HeadWeightsError } from "./head-loading.js";
export { BertForTokenClassification, TokenClassifierOutput } from "./token-classification.js";
export { BertForQuestionAnswering, QuestionAnsweringOutput } from "./question-answering.js";

/** The head class each task uses. */
export interface HeadsByTask {
  "text-classification": BertForSequenceClassification;
  "next-sentence": BertForNextSentencePrediction;
  "fill-mask": BertForMaskedLM;
  "token-classification": BertForTokenClassification;
  "question-answering": BertForQuestionAnswering;
}

export type HeadTask = keyof HeadsByTask;

/** How each task's head is built on a loaded encoder. */
const HEAD_BUILDERS: { [T in HeadTask]: (model: BertModel) => HeadsByTask[T] } = {
  "text-classification": (m) => BertForSequenceClassification.fromModel(m),
  "next-sentence": (m) => BertForNextSentencePrediction.fromModel(m),
  "fill-mask": (m) => BertForMaskedLM.fromModel(m),
  "token-classification": (m) => BertForTokenClassification.fromModel(m),
  "question-answering": (m) => BertForQuestionAnswering.fromModel(m),
};

/** config.json architectures → tasks its checkpoint has head weights for (first = the default). */
const ARCHITECTURE_TASKS: Record<string, readonly HeadTask[]> = {
  BertForNextSentencePrediction: ["next-sentence"],
  BertForPreTraining: ["fill-mask", "next-sentence"],
};

/**
 * Heads every family has, by class-name suffix after the family's stem ("DistilBert" +
 * "ForSequenceClassification"); the tensor names are in heads/*.ts, the sequence classifier's layout is the family's.
 */
const FAMILY_HEAD_TASKS: Record<string, HeadTask> = {
  ForSequenceClassification: "text-classification",
  ForTokenClassification: "token-classification",
  ForQuestionAnswering: "question-answering",
  ForMaskedLM: "fill-mask",
};

function tasksOfArchitecture(architecture: string, familyStem: string): readonly HeadTask[] {
  if (Object.hasOwn(ARCHITECTURE_TASKS, architecture)) return ARCHITECTURE_TASKS[architecture];
  const suffix = architecture.startsWith(familyStem) ? architecture.slice(familyStem.length) : "";
  return Object.hasOwn(FAMILY_HEAD_TASKS, suffix) ? [FAMILY_HEAD_TASKS[suffix]] : [];
}

export function isHeadTask(task: string): task is HeadTask {
  return Object.hasOwn(HEAD_BUILDERS, task);
}

/** Tasks the config's declared architectures provide heads for, in declaration order. */
export function tasksForConfig(config: BertConfig): HeadTask[] {
  const stem = familyFor(config.model_type).className;
  const tasks = config.architectures.flatMap((a) => tasksOfArchitecture(a, stem));
  return [...new Set(tasks)];
}

/** Builds a task's head on an already loaded encoder (several heads may share one encoder). */
export function headForModel<T extends HeadTask>(task: T, model: BertModel): HeadsByTask[T] {
  const build = HEAD_BUILDERS[task] as ((model: BertModel) => HeadsByTask[T]) | undefined;
  if (!build) throw new Error(`Unknown task "${task}"; supported: ${Object.keys(HEAD_BUILDERS).join(", ")}`);
  return build(model);
}

/** Loads a model folder with the head for `task`; HeadWeightsError when the checkpoint lacks it. */
export async function loadForTask<T extends HeadTask>(task: T, dir: string, options: LoadOptions = {}): Promise<HeadsByTask[T]> {
  if (!isHeadTask(task)) throw new Error(`Unknown task "${task}"; supported: ${Object.keys(HEAD_BUILDERS).join(", ")}`);
  return headForModel(task, await BertModel.fromPretrained(dir, options));
}

export type LoadedHead = { [T in HeadTask]: { task: T; head: HeadsByTask[T] } }[HeadTask];

/** Like Hugging Face's AutoModel: the head that config.json's `architectures` names. */
export async function loadFromArchitectures(dir: string, options: LoadOptions = {}): Promise<LoadedHead> {
  const model = await BertModel.fromPretrained(dir, options);
  const [task] = tasksForConfig(model.config);
  if (!task) {
    const archs = model.config.architectures.join(", ") || "none";
    throw new Error(
      `${dir}: config.json architectures (${archs}) name no task head bert-ts knows; known: ${[...Object.keys(ARCHITECTURE_TASKS), ...Object.keys(FAMILY_HEAD_TASKS).map((s) => `${model.family.className}${s}`)].join(", ")}`,
    );
  }
  return { task, head: headForModel(task, model) } as LoadedHead;
}
