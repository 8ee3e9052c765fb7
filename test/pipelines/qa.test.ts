/**
 * The question-answering pipeline.
 * - Span decoding on hand-built logits: the masked softmax over context + [CLS], the null score,
 *   start ≤ end, maxAnswerLen, topK order, word alignment.
 * - End to end on the random QA model: window logits through the tokenizer against PyTorch;
 *   answers checked against a brute-force search written here over the logits the model gave;
 *   handleImpossibleAnswer; a context of over 1,000 tokens in overlapping windows (docStride).
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { pipeline, type QuestionAnsweringPipeline } from "../../src/pipelines/index.js";
import { charSpan, decodeWindow, type QuestionAnsweringResult } from "../../src/pipelines/question-answering.js";
import { assertClose } from "../helpers/assert.js";
import { loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

// [CLS] who ? [SEP] ann met bob ##by [SEP]
const ENC = {
  inputIds: [101, 2040, 1029, 102, 5, 6, 7, 8, 102],
  sequenceIds: [null, 0, 0, null, 1, 1, 1, 1, null],
  attentionMask: [1, 1, 1, 1, 1, 1, 1, 1, 1],
  wordIds: [null, 0, 1, null, 0, 1, 2, 2, null],
  offsets: [[0, 0], [0, 3], [3, 4], [0, 0], [0, 3], [4, 7], [8, 11], [11, 13], [0, 0]] as [number, number][],
};
const CONTEXT = "Ann met Bobby";

function softmaxOf(xs: number[]): number[] {
  const m = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

describe("question answering: span decoding on hand-built logits", () => {
  // The question tokens have the highest logits: they must be masked out, not chosen.
  const start = [1, 9, 9, 9, 2, 0, 1.5, 0, 9];
  const end = [0.5, 9, 9, 9, 0, 1, 0.5, 2, 9];
  // Softmax over the allowed positions only ([CLS] + context), -10000 elsewhere ≈ 0.
  const allowed = [0, 4, 5, 6, 7];
  const ps = softmaxOf(allowed.map((t) => start[t]));
  const pe = softmaxOf(allowed.map((t) => end[t]));
  const p = (arr: number[], t: number) => arr[allowed.indexOf(t)];

  it("scores spans inside the context by p_start · p_end, best first; [CLS] gives the null score", () => {
    const { spans, nullScore } = decodeWindow(ENC, start, end, 101, 15);
    assertClose([nullScore], [ps[0] * pe[0]], 1e-12, "null score");
    const all: { s: number; e: number; score: number }[] = [];
    for (const s of [4, 5, 6, 7]) for (const e of [4, 5, 6, 7]) if (e >= s) all.push({ s, e, score: p(ps, s) * p(pe, e) });
    all.sort((a, b) => b.score - a.score);
    assert.deepEqual(spans.slice(0, 3).map((x) => [x.start, x.end]), all.slice(0, 3).map((x) => [x.s, x.e]));
    spans.slice(0, 3).forEach((x, k) => assertClose([x.score], [all[k].score], 1e-12, `span ${k}`));
    assert.deepEqual([spans[0].start, spans[0].end], [4, 7]);
  });

  it("never returns end < start or a span longer than maxAnswerLen", () => {
    const { spans } = decodeWindow(ENC, start, end, 101, 2);
    assert.equal(spans.length, 4 + 3); // (s, s) and (s, s+1) inside the 4 context tokens
    for (const s of spans) assert.ok(s.start <= s.end && s.end - s.start < 2 && s.start >= 4 && s.end <= 7);
    assert.deepEqual([spans[0].start, spans[0].end], [6, 7]);
  });

  it("widens spans to whole words, or keeps token offsets", () => {
    assert.deepEqual(charSpan(ENC, 7, 7, true), [8, 13]); // ##by → Bobby
    assert.deepEqual(charSpan(ENC, 7, 7, false), [11, 13]);
    assert.deepEqual(charSpan(ENC, 4, 6, true), [0, 13]); // ann … bob(by)
    assert.equal(CONTEXT.slice(...charSpan(ENC, 5, 7, true)), "met Bobby");
  });
});

const NAME = "bert-micro-qa-random";
const HAMLET = {
  question: "Who wrote Hamlet?",
  context: "Hamlet is a tragedy written by William Shakespeare sometime between 1599 and 1601. It is his longest play.",
};

/**
 * Brute force over the logits a run reported, as Hugging Face decodes them: in every window, every
 * span of allowed tokens scored p_start · p_end, the window's topK kept, widened to words, and equal
 * texts (ignoring case) merged with their scores added.
 */
function bruteForce(
  qa: QuestionAnsweringPipeline,
  question: string,
  context: string,
  r: QuestionAnsweringResult,
  opts: { maxSeqLen: number; docStride: number; maxAnswerLen: number; topK: number },
) {
  const enc = qa.tokenizer.encode(question, context, { truncation: "only_second", maxLength: opts.maxSeqLen, stride: opts.docStride, returnOverflowingTokens: true });
  const windows = [enc, ...enc.overflowing];
  assert.equal(windows.length, r.spans.length);
  const answers: { score: number; start: number; end: number; answer: string }[] = [];
  let nullScore = Infinity;
  windows.forEach((w, k) => {
    assert.deepEqual(r.spans[k].tokens, w.tokens);
    const ok = w.sequenceIds.map((s, t) => s === 1 || t === 0);
    const norm = (xs: number[]) => softmaxOf(xs.map((x, t) => (ok[t] ? x : -10000)));
    const ps = norm(r.spans[k].startLogits);
    const pe = norm(r.spans[k].endLogits);
    nullScore = Math.min(nullScore, ps[0] * pe[0]);
    const spans: { s: number; e: number; score: number }[] = [];
    for (let s = 1; s < ps.length; s++) {
      for (let e = s; e < ps.length && e - s < opts.maxAnswerLen; e++) {
        if (w.sequenceIds[s] === 1 && w.sequenceIds[e] === 1) spans.push({ s, e, score: ps[s] * pe[e] });
      }
    }
    spans.sort((a, b) => b.score - a.score);
    for (const { s, e, score } of spans.slice(0, opts.topK)) {
      const first = w.wordIds.findIndex((x, t) => x === w.wordIds[s] && w.sequenceIds[t] === 1);
      const last = w.wordIds.findLastIndex((x, t) => x === w.wordIds[e] && w.sequenceIds[t] === 1);
      const [start, end] = [w.offsets[first][0], w.offsets[last][1]];
      const same = answers.find((a) => a.answer.toLowerCase() === context.slice(start, end).toLowerCase());
      if (same) same.score += score;
      else answers.push({ score, start, end, answer: context.slice(start, end) });
    }
  });
  answers.sort((a, b) => b.score - a.score);
  return { found: answers.slice(0, opts.topK), nullScore };
}

describe("question-answering pipeline: random QA model", { skip: skipUnlessModel(NAME) || skipUnlessGolden(`${NAME}.json`) }, () => {
  let qa: QuestionAnsweringPipeline;
  let g: any;
  before(async () => {
    g = loadGolden(`${NAME}.json`);
    qa = await pipeline("question-answering", modelPath(NAME));
  });

  it("gives PyTorch's start/end logits from text for every golden [question, context]", async () => {
    const pairs = g.inputs.filter((x: any) => Array.isArray(x.input) && x.input[0].length > 0 && x.input[1].length > 0);
    assert.ok(pairs.length >= 3);
    // 512-token windows: the reference truncated the context (longest_first removes from the longer text only).
    const results = await qa.run(pairs.map((x: any) => ({ question: x.input[0], context: x.input[1] })), { maxSeqLen: 512 });
    pairs.forEach((inp: any, i: number) => {
      const span = results[i].spans[0];
      assert.deepEqual(span.tokens, inp.tokens, `pair ${i} tokens`);
      assertClose(span.startLogits, inp.outputs.qa.start_logits, 1e-4, `pair ${i} start_logits`);
      assertClose(span.endLogits, inp.outputs.qa.end_logits, 1e-4, `pair ${i} end_logits`);
      assert.equal(results[i].spans.length, inp.truncated ? 3 : 1, `pair ${i} windows`);
    });
  });

  it("returns the best span over the context, as a brute-force search finds it", async () => {
    const best = await qa(HAMLET);
    assert.deepEqual(Object.keys(best).sort(), ["answer", "end", "score", "start"]);
    assert.equal(best.answer, HAMLET.context.slice(best.start, best.end));
    assert.ok(best.answer.length > 0 && best.score > 0 && best.score <= 1);
    const [r] = await qa.run([HAMLET], { topK: 5 });
    const { found } = bruteForce(qa, HAMLET.question, HAMLET.context, r, { maxSeqLen: 384, docStride: 128, maxAnswerLen: 15, topK: 5 });
    assert.deepEqual(r.answers.map((a) => [a.start, a.end, a.answer]), found.map((a) => [a.start, a.end, a.answer]));
    assertClose(r.answers.map((a) => a.score), found.map((a) => a.score), 1e-9, "scores");
    assert.deepEqual(r.answers[0], best);
  });

  it("gives topK answers best first, as a list, and one list per input for a batch", async () => {
    const top = await qa(HAMLET, { topK: 3 });
    assert.equal(top.length, 3);
    for (let k = 1; k < top.length; k++) assert.ok(top[k - 1].score >= top[k].score);
    const one = await qa(HAMLET, { topK: 1 });
    assert.deepEqual(one, [top[0]]);
    const batch = await qa([HAMLET, { question: "When?", context: "In the year 1601." }], { topK: 2 });
    assert.deepEqual(batch[0], top.slice(0, 2));
    assert.equal(batch[1].length, 2);
    const bests = await qa([HAMLET, HAMLET]);
    assert.deepEqual(bests, [top[0], top[0]]);
  });

  it("respects maxAnswerLen in tokens", async () => {
    const wordCount = (a: { answer: string }) => a.answer.trim().split(/\s+/).length;
    const [free] = await qa.run([HAMLET], { topK: 20 });
    assert.ok(free.answers.some((a) => wordCount(a) > 3), "without a tight limit some answers are longer than 3 words");
    for (const maxAnswerLen of [1, 3]) {
      const [r] = await qa.run([HAMLET], { topK: 20, maxAnswerLen });
      const { found } = bruteForce(qa, HAMLET.question, HAMLET.context, r, { maxSeqLen: 384, docStride: 128, maxAnswerLen, topK: 20 });
      assert.deepEqual(r.answers.map((a) => [a.start, a.end, a.answer]), found.map((a) => [a.start, a.end, a.answer]), `maxAnswerLen ${maxAnswerLen}`);
      // A span of n tokens widened to whole words covers at most n words.
      for (const a of r.answers) assert.ok(wordCount(a) <= maxAnswerLen, `${JSON.stringify(a.answer)} has more than ${maxAnswerLen} words`);
    }
  });

  it("adds the null answer with handleImpossibleAnswer, scored by [CLS]", async () => {
    const [r] = await qa.run([HAMLET], { topK: 10_000, handleImpossibleAnswer: true });
    const empty = r.answers.filter((a) => a.answer === "");
    assert.equal(empty.length, 1);
    assert.deepEqual([empty[0].start, empty[0].end], [0, 0]);
    const { nullScore } = bruteForce(qa, HAMLET.question, HAMLET.context, r, { maxSeqLen: 384, docStride: 128, maxAnswerLen: 15, topK: 10_000 });
    assertClose([empty[0].score], [nullScore], 1e-12, "null score");
    const rank = r.answers.indexOf(empty[0]);
    assert.ok(r.answers.slice(0, rank).every((a) => a.score >= nullScore) && r.answers.slice(rank + 1).every((a) => a.score <= nullScore));
  });

  it("gives the same answers alone, one window per pass, or among other inputs", async () => {
    const alone = (await qa.run([HAMLET], { topK: 4 }))[0];
    const single = await pipeline("question-answering", modelPath(NAME), { batchSize: 1 });
    const other = { question: "When?", context: "In the year 1601, a long time ago, in a city far away." };
    const mixed = await single.run([other, HAMLET, other], { topK: 4 });
    assert.deepEqual(mixed[1], alone);
    assert.deepEqual(mixed[0], mixed[2]);
  });

  it("reads a context of over 1,000 tokens in overlapping windows and merges their answers", async () => {
    const facts = Array.from({ length: 160 }, (_, i) => `Station ${i} opened in year ${1800 + i}.`);
    const context = facts.join(" ");
    const question = "When did station 150 open?";
    const [r] = await qa.run([{ question, context }], { topK: 10 });
    const q = qa.tokenizer.tokenize(question).length;
    const contextTokens = qa.tokenizer.tokenize(context).length;
    assert.ok(contextTokens > 1000, `${contextTokens} context tokens`);
    // Windows of 384 tokens holding the whole question; consecutive ones share docStride = 128 context tokens.
    const room = 384 - q - 3;
    assert.equal(r.spans.length, Math.ceil((contextTokens - room) / (room - 128)) + 1);
    const windowContext = r.spans.map((s) => s.tokens.slice(q + 2, -1));
    windowContext.forEach((w, k) => {
      assert.ok(r.spans[k].tokens.length <= 384);
      if (k + 1 < windowContext.length) assert.deepEqual(windowContext[k + 1].slice(0, 128), w.slice(w.length - 128));
    });
    assert.deepEqual(windowContext.flatMap((w, k) => (k === 0 ? w : w.slice(128))), qa.tokenizer.tokenize(context));
    // Answers: pooled from every window, one per text, each the text at its offsets, as the brute force finds them.
    const { found } = bruteForce(qa, question, context, r, { maxSeqLen: 384, docStride: 128, maxAnswerLen: 15, topK: 10 });
    assert.deepEqual(r.answers.map((a) => [a.start, a.end, a.answer]), found.map((a) => [a.start, a.end, a.answer]));
    assertClose(r.answers.map((a) => a.score), found.map((a) => a.score), 1e-9, "scores");
    assert.equal(new Set(r.answers.map((a) => a.answer.toLowerCase())).size, r.answers.length);
    for (const a of r.answers) assert.equal(a.answer, context.slice(a.start, a.end));
    // Where the best answer was found is not always the first window: answers come from across the context.
    const best = await qa({ question, context }, { docStride: 64 });
    assert.equal(best.answer, context.slice(best.start, best.end));
  });

  it("rejects empty questions and contexts, and bad options", async () => {
    await assert.rejects(() => qa({ question: "", context: "x" }), /question cannot be empty/);
    await assert.rejects(() => qa({ question: "x", context: "" }), /context cannot be empty/);
    await assert.rejects(() => qa(HAMLET, { topK: 0 }), /topK/);
    await assert.rejects(() => qa(HAMLET, { maxSeqLen: 600 }), /longer than the model takes/);
  });
});
