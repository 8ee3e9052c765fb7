/**
 * The "question-answering" pipeline, after Hugging Face's QuestionAnsweringPipeline (fast-tokenizer
 * path): the best answer spans of a context for a question, with [start, end) character offsets
 * into the context.
 *
 * Like Hugging Face: the question is kept whole and the context cut into windows of `maxSeqLen`
 * tokens sharing `docStride` tokens; in each window, logits outside the context (question, [SEP])
 * are masked to -10000 before the softmax ([CLS] stays in, for the null answer); a span scores
 * p_start · p_end, starts no later than it ends and is at most `maxAnswerLen` tokens long; spans
 * widen to whole words (alignToWords); each window's topK spans are pooled and equal answer texts
 * merged, their scores added.
 */
import type { ModelLocation } from "../io/model-source.js";
import type { BertForQuestionAnswering } from "../heads/question-answering.js";
import type { Encoding } from "../tokenizers/encoding.js";
import type { Tokenizer } from "../tokenizers/tokenizer.js";
import { checkTopK, inBatches, loadPipelineParts, type PipelineOptions, type PipelineParts } from "./common.js";

export interface QuestionAnsweringInput {
  question: string;
  context: string;
}

export interface QuestionAnsweringOptions {
  /** Answers to return, best first. Omitted: the call gives the best answer alone, not a list. */
  topK?: number;
  /** Longest answer in tokens. Default 15. */
  maxAnswerLen?: number;
  /** Tokens shared by consecutive context windows. Default min(maxSeqLen / 2, 128). */
  docStride?: number;
  /** Window length in tokens, question and special tokens included. Default min(model maximum, 384). */
  maxSeqLen?: number;
  /** Also consider "no answer" (SQuAD 2.0): the [CLS] score, as { answer: "", start: 0, end: 0 }. Default false. */
  handleImpossibleAnswer?: boolean;
  /** Widen spans to whole words. Default true. */
  alignToWords?: boolean;
}

export interface QuestionAnsweringAnswer {
  /** p_start · p_end within the answer's window (summed over the spans that give the same text). */
  score: number;
  /** [start, end) UTF-16 offsets into the context. */
  start: number;
  end: number;
  /** context.slice(start, end). */
  answer: string;
}

/** One window of the context as the model saw it. */
export interface QuestionAnsweringSpan {
  tokens: string[];
  /** [tokens] raw scores (Hugging Face's `start_logits` / `end_logits` rows). */
  startLogits: number[];
  endLogits: number[];
}

export interface QuestionAnsweringResult {
  /** Best first, at most topK (default 1). */
  answers: QuestionAnsweringAnswer[];
  /** The windows, in context order (one when the context fits). */
  spans: QuestionAnsweringSpan[];
}

export interface QuestionAnsweringPipeline {
  (input: QuestionAnsweringInput, options?: QuestionAnsweringOptions & { topK?: undefined }): Promise<QuestionAnsweringAnswer>;
  (input: QuestionAnsweringInput, options: QuestionAnsweringOptions & { topK: number }): Promise<QuestionAnsweringAnswer[]>;
  (inputs: readonly QuestionAnsweringInput[], options?: QuestionAnsweringOptions & { topK?: undefined }): Promise<QuestionAnsweringAnswer[]>;
  (inputs: readonly QuestionAnsweringInput[], options: QuestionAnsweringOptions & { topK: number }): Promise<QuestionAnsweringAnswer[][]>;
  readonly task: "question-answering";
  readonly model: BertForQuestionAnswering;
  readonly tokenizer: Tokenizer;
  /** Answers plus every window's tokens and logits, for each input in order. */
  run(inputs: readonly QuestionAnsweringInput[], options?: QuestionAnsweringOptions): Promise<QuestionAnsweringResult[]>;
}

/** What a question with no answer in the context gets when nothing scores (and for handleImpossibleAnswer). */
const NO_ANSWER = { start: 0, end: 0, answer: "" } as const;

export async function questionAnsweringPipeline(modelNameOrPath: ModelLocation, options: PipelineOptions = {}): Promise<QuestionAnsweringPipeline> {
  const parts = await loadPipelineParts("question-answering", modelNameOrPath, options);
  const run = async (inputs: readonly QuestionAnsweringInput[], opts: QuestionAnsweringOptions = {}): Promise<QuestionAnsweringResult[]> =>
    answerQuestions(parts, inputs, opts);
  async function call(input: QuestionAnsweringInput | readonly QuestionAnsweringInput[], opts: QuestionAnsweringOptions = {}) {
    const list = Array.isArray(input) ? input : [input as QuestionAnsweringInput];
    const results = await run(list, opts);
    const shaped = results.map((r) => (opts.topK === undefined ? (r.answers[0] ?? { score: 0, ...NO_ANSWER }) : r.answers));
    return Array.isArray(input) ? shaped : shaped[0];
  }
  return Object.assign(call, { task: "question-answering" as const, model: parts.head, tokenizer: parts.tokenizer, run }) as QuestionAnsweringPipeline;
}

interface Feature {
  input: number;
  encoding: Encoding;
}

function positiveInt(value: unknown, name: string): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) {
    throw new TypeError(`Expected a positive integer for ${name} but received ${JSON.stringify(value)}`);
  }
}

function answerQuestions(
  parts: PipelineParts<"question-answering">,
  inputs: readonly QuestionAnsweringInput[],
  opts: QuestionAnsweringOptions,
): QuestionAnsweringResult[] {
  const topK = opts.topK ?? 1;
  checkTopK(topK);
  const maxAnswerLen = opts.maxAnswerLen ?? 15;
  positiveInt(maxAnswerLen, "maxAnswerLen");
  const maxSeqLen = opts.maxSeqLen ?? Math.min(parts.maxLength, 384);
  positiveInt(maxSeqLen, "maxSeqLen");
  if (maxSeqLen > parts.maxLength) throw new RangeError(`maxSeqLen ${maxSeqLen} is longer than the model takes (${parts.maxLength} tokens)`);
  const docStride = opts.docStride ?? Math.min(Math.floor(maxSeqLen / 2), 128);
  if (!Number.isInteger(docStride) || docStride < 0) throw new TypeError(`Expected an integer >= 0 for docStride but received ${JSON.stringify(docStride)}`);
  if (docStride > maxSeqLen) throw new RangeError(`docStride (${docStride}) must not exceed maxSeqLen (${maxSeqLen})`);
  const handleImpossible = opts.handleImpossibleAnswer ?? false;
  const alignToWords = opts.alignToWords ?? true;

  const features: Feature[] = [];
  inputs.forEach((x, i) => {
    if (typeof x !== "object" || x === null || typeof x.question !== "string" || typeof x.context !== "string") {
      throw new TypeError(`Expected { question, context } strings for input ${i} but received ${JSON.stringify(x)}`);
    }
    if (x.question.length === 0) throw new Error(`question cannot be empty (input ${i})`);
    if (x.context.length === 0) throw new Error(`context cannot be empty (input ${i})`);
    const enc = parts.tokenizer.encode(x.question, x.context, {
      truncation: "only_second",
      maxLength: maxSeqLen,
      stride: docStride,
      returnOverflowingTokens: true,
    });
    for (const encoding of [enc, ...enc.overflowing]) features.push({ input: i, encoding });
  });

  const logits = inBatches(features, parts.batchSize, (batch) => {
    const out = parts.head.forward(batch.map((f) => f.encoding));
    return batch.map((_, b) => ({ start: out.startLogits(b), end: out.endLogits(b) }));
  });

  const clsId = parts.tokenizer.clsTokenId;
  const byInput: number[][] = inputs.map(() => []);
  features.forEach((f, k) => byInput[f.input].push(k));
  return inputs.map((x, i) => {
    const answers: QuestionAnsweringAnswer[] = [];
    const spans: QuestionAnsweringSpan[] = [];
    let minNullScore = 1_000_000;
    for (const k of byInput[i]) {
      const f = features[k];
      const { start, end } = logits[k];
      spans.push({ tokens: f.encoding.tokens, startLogits: Array.from(start), endLogits: Array.from(end) });
      const decoded = decodeWindow(f.encoding, start, end, clsId, maxAnswerLen);
      minNullScore = Math.min(minNullScore, decoded.nullScore);
      for (const s of decoded.spans.slice(0, topK)) {
        const [a, b] = charSpan(f.encoding, s.start, s.end, alignToWords);
        addAnswer(answers, { score: s.score, start: a, end: b, answer: x.context.slice(a, b) });
      }
    }
    if (handleImpossible) answers.push({ score: minNullScore, ...NO_ANSWER });
    // Best first; sort is stable, so equal scores keep the order they were found in.
    return { answers: answers.sort((a, b) => b.score - a.score).slice(0, topK), spans };
  });
}

/**
 * Hugging Face's merge of equal answers (recent transformers; older ones listed duplicates): a span whose text equals, ignoring
 * case, an answer already found (another window's copy of it, or two token spans widened to the same
 * words) adds its score to that answer, which keeps its first offsets.
 */
function addAnswer(answers: QuestionAnsweringAnswer[], found: QuestionAnsweringAnswer): void {
  const key = found.answer.toLowerCase();
  const same = answers.find((a) => a.answer.toLowerCase() === key);
  if (same) same.score += found.score;
  else answers.push(found);
}

export interface TokenSpan {
  /** Token positions in the window, inclusive. */
  start: number;
  end: number;
  score: number;
}

/**
 * Hugging Face's select_starts_ends + decode_spans for one window: softmax of start and end logits
 * with non-context tokens masked to -10000 ([CLS] kept), the null score p_start[0] · p_end[0], then
 * every span with start ≤ end < start + maxAnswerLen, both ends in the context, best first.
 */
export function decodeWindow(
  encoding: Pick<Encoding, "inputIds" | "sequenceIds" | "attentionMask">,
  startLogits: ArrayLike<number>,
  endLogits: ArrayLike<number>,
  clsTokenId: number | undefined,
  maxAnswerLen: number,
): { spans: TokenSpan[]; nullScore: number } {
  const n = startLogits.length;
  const isContext = (t: number): boolean => encoding.sequenceIds[t] === 1 && encoding.attentionMask[t] !== 0;
  const allowed = (t: number): boolean => isContext(t) || (encoding.inputIds[t] === clsTokenId && encoding.attentionMask[t] !== 0);
  const pStart = maskedSoftmax(startLogits, allowed);
  const pEnd = maskedSoftmax(endLogits, allowed);
  const nullScore = pStart[0] * pEnd[0];
  // [CLS] is the null answer, never part of a span.
  const candidates: TokenSpan[] = [];
  for (let s = 0; s < n; s++) {
    if (!isContext(s)) continue;
    for (let e = s; e < Math.min(n, s + maxAnswerLen); e++) {
      if (isContext(e)) candidates.push({ start: s, end: e, score: pStart[s] * pEnd[e] });
    }
  }
  // Best first; equal scores keep (start, end) order, as numpy's flat argsort tends to.
  candidates.sort((a, b) => b.score - a.score);
  return { spans: candidates, nullScore };
}

/** softmax in float64 over the row with disallowed positions set to -10000 (not -inf: HF's choice). */
function maskedSoftmax(logits: ArrayLike<number>, allowed: (t: number) => boolean): number[] {
  const x = Array.from(logits, (v, t) => (allowed(t) ? v : -10000));
  let max = -Infinity;
  for (const v of x) if (v > max) max = v;
  let sum = 0;
  const out = x.map((v) => {
    const e = Math.exp(v - max);
    sum += e;
    return e;
  });
  return out.map((v) => v / sum);
}

/**
 * Character span of tokens [s, e] in the context. With alignToWords, widened to the whole words
 * the two tokens belong to (HF: word_to_chars(token_to_word(·)), within this window).
 */
export function charSpan(encoding: Pick<Encoding, "offsets" | "wordIds" | "sequenceIds">, s: number, e: number, alignToWords: boolean): [number, number] {
  if (!alignToWords) return [encoding.offsets[s][0], encoding.offsets[e][1]];
  const startWord = encoding.wordIds[s];
  const endWord = encoding.wordIds[e];
  if (startWord === null || endWord === null) return [encoding.offsets[s][0], encoding.offsets[e][1]];
  let start = Infinity;
  let end = -Infinity;
  for (let t = 0; t < encoding.wordIds.length; t++) {
    if (encoding.sequenceIds[t] !== 1) continue;
    if (encoding.wordIds[t] === startWord) start = Math.min(start, encoding.offsets[t][0]);
    if (encoding.wordIds[t] === endWord) end = Math.max(end, encoding.offsets[t][1]);
  }
  return [start, end];
}
