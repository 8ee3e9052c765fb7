/**
 * The "token-classification" pipeline (alias "ner"), after Hugging Face's TokenClassificationPipeline:
 * a label and score for every token, optionally aggregated into words and entities
 * (aggregation strategies "none", "simple", "first", "average", "max", with HF's semantics), with
 * [start, end) character offsets into the original text.
 *
 * Texts longer than the model takes are cut into overlapping windows (`stride` shared tokens) and
 * the entities of all windows merged as Hugging Face does with `stride`: nothing is dropped.
 */
import type { ModelLocation } from "../io/model-source.js";
import type { BertForTokenClassification } from "../heads/token-classification.js";
import { softmax } from "../heads/scores.js";
import { WordPieceDecoder } from "../tokenizers/decoders/index.js";
import type { Encoding } from "../tokenizers/encoding.js";
import type { Tokenizer } from "../tokenizers/tokenizer.js";
import { inBatches, loadPipelineParts, type PipelineOptions, type PipelineParts } from "./common.js";

export type AggregationStrategy = "none" | "simple" | "first" | "average" | "max";
export const AGGREGATION_STRATEGIES: readonly AggregationStrategy[] = ["none", "simple", "first", "average", "max"];

/** One token (aggregation "none"). */
export interface TokenEntity {
  /** The token's label, e.g. "B-PER". */
  entity: string;
  /** softmax probability of that label. */
  score: number;
  /** Token position in the encoded text ([CLS] = 0), counted over the whole text when it was windowed. */
  index: number;
  /** The token ("##ing" for a continuation piece; the original text for an unknown token). */
  word: string;
  /** [start, end) UTF-16 offsets into the input text. */
  start: number;
  end: number;
}

/** Adjacent tokens or words with one entity type (every strategy but "none"). */
export interface EntityGroup {
  /** The type without its B-/I- prefix, e.g. "PER". */
  entity_group: string;
  /** Mean score of the grouped tokens (or words). */
  score: number;
  /** The grouped pieces joined back into text (as the tokenizer normalized it, e.g. lower-cased). */
  word: string;
  start: number;
  end: number;
}

export type TokenClassificationEntity = TokenEntity | EntityGroup;

export interface TokenClassificationOptions {
  /** Default: the pipeline's (itself "none" by default, as Hugging Face's). */
  aggregationStrategy?: AggregationStrategy;
  /** Labels left out of the result. Default ["O"]. */
  ignoreLabels?: readonly string[];
  /**
   * Tokens shared by consecutive windows when a text is longer than the model takes.
   * Default: min(128, half the window).
   */
  stride?: number;
}

export interface TokenClassificationResult {
  entities: TokenClassificationEntity[];
  /** Tokens of the whole text ([CLS] … [SEP]), never truncated. */
  tokens: string[];
  /**
   * [tokens][labels] raw scores aligned with `tokens` (Hugging Face's `logits`). A windowed text takes
   * each token's row from the window where it has the most context on both sides.
   */
  logits: number[][];
  /** How many windows the text was cut into (1 when it fit). */
  windows: number;
}

export interface TokenClassificationPipeline {
  (text: string, options?: TokenClassificationOptions): Promise<TokenClassificationEntity[]>;
  (texts: readonly string[], options?: TokenClassificationOptions): Promise<TokenClassificationEntity[][]>;
  readonly task: "token-classification";
  readonly model: BertForTokenClassification;
  readonly tokenizer: Tokenizer;
  readonly aggregationStrategy: AggregationStrategy;
  /** Entities plus tokens and logits, for each text in order. */
  run(texts: readonly string[], options?: TokenClassificationOptions): Promise<TokenClassificationResult[]>;
}

export async function tokenClassificationPipeline(modelNameOrPath: ModelLocation, options: PipelineOptions = {}): Promise<TokenClassificationPipeline> {
  const aggregationStrategy = options.aggregationStrategy ?? "none";
  checkStrategy(aggregationStrategy);
  const defaultIgnore = options.ignoreLabels ?? ["O"];
  const parts = await loadPipelineParts("token-classification", modelNameOrPath, options);
  const run = async (texts: readonly string[], opts: TokenClassificationOptions = {}): Promise<TokenClassificationResult[]> =>
    classifyTokens(parts, texts, {
      aggregationStrategy: opts.aggregationStrategy ?? aggregationStrategy,
      ignoreLabels: opts.ignoreLabels ?? defaultIgnore,
      stride: opts.stride,
    });
  async function call(input: string | readonly string[], opts?: TokenClassificationOptions) {
    if (Array.isArray(input)) return (await run(input, opts)).map((r) => r.entities);
    return (await run([input as string], opts))[0].entities;
  }
  return Object.assign(call, {
    task: "token-classification" as const,
    model: parts.head,
    tokenizer: parts.tokenizer,
    aggregationStrategy,
    run,
  }) as TokenClassificationPipeline;
}

function checkStrategy(s: unknown): asserts s is AggregationStrategy {
  if (!(AGGREGATION_STRATEGIES as readonly unknown[]).includes(s)) {
    throw new TypeError(`Expected one of ${AGGREGATION_STRATEGIES.join(", ")} for aggregationStrategy but received ${JSON.stringify(s)}`);
  }
}

interface Window {
  text: number;
  encoding: Encoding;
  /** Added to a window token's position to give its position in the whole text. */
  indexOffset: number;
}

function classifyTokens(
  parts: PipelineParts<"token-classification">,
  texts: readonly string[],
  opts: Required<Pick<TokenClassificationOptions, "aggregationStrategy" | "ignoreLabels">> & { stride?: number },
): TokenClassificationResult[] {
  checkStrategy(opts.aggregationStrategy);
  const { tokenizer, maxLength } = parts;
  const windows: Window[] = [];
  texts.forEach((text, i) => {
    if (typeof text !== "string") throw new TypeError(`Expected a string for text ${i} but received ${JSON.stringify(text)}`);
    const first = tokenizer.encode(text, null, { truncation: true, maxLength, returnOverflowingTokens: true, stride: 0 });
    const room = maxLength - countSpecial(first);
    const stride = opts.stride ?? Math.min(128, Math.floor(room / 2));
    // Re-encode with the stride only when the text overflows (the common short text is encoded once).
    const enc = first.overflowing.length === 0 ? first : tokenizer.encode(text, null, { truncation: true, maxLength, returnOverflowingTokens: true, stride });
    const step = room - stride;
    [enc, ...enc.overflowing].forEach((encoding, k) => windows.push({ text: i, encoding, indexOffset: k * step }));
  });

  // Run every window of every text through the model, batchSize windows at a time.
  const logits = inBatches(windows, parts.batchSize, (batch) => {
    const out = parts.head.forward(batch.map((w) => w.encoding));
    return batch.map((_, b) => out.logits(b));
  });

  const decoder = new WordPieceDecoder(SUBWORD_PREFIX, true);
  const ctx: AggregationContext = {
    labels: parts.head.labels,
    unkTokenId: tokenizer.unkTokenId,
    tokensToString: (tokens) => decoder.decode(tokens),
  };
  // Windows are in text order: text i owns a consecutive run of them.
  const byText: { w: Window; logits: (typeof logits)[number] }[][] = texts.map(() => []);
  windows.forEach((w, k) => byText[w.text].push({ w, logits: logits[k] }));
  return texts.map((text, i) => {
    const mine = byText[i];
    const entities: TokenClassificationEntity[] = [];
    for (const { w, logits: l } of mine) {
      const numLabels = l.shape[1];
      const scores = Array.from({ length: l.shape[0] }, (_, t) => softmax(l.data.subarray(t * numLabels, (t + 1) * numLabels)));
      const pre = gatherPreEntities(text, w.encoding, scores, ctx, w.indexOffset);
      entities.push(...filterIgnored(aggregate(pre, opts.aggregationStrategy, ctx), opts.ignoreLabels));
    }
    const merged = mine.length > 1 ? aggregateOverlappingEntities(entities) : entities;
    const whole = stitchWindows(mine.map((x) => ({ encoding: x.w.encoding, indexOffset: x.w.indexOffset, logits: x.logits })));
    return { entities: merged, tokens: whole.tokens, logits: whole.logits, windows: mine.length };
  });
}

function countSpecial(e: Encoding): number {
  let n = 0;
  for (let t = 0; t < e.specialTokensMask.length; t++) if (e.specialTokensMask[t] === 1 && e.attentionMask[t] === 1) n++;
  return n;
}

// ---- aggregation (pure functions, Hugging Face's postprocess) ------------------------------------

/** WordPiece's continuation prefix: marks a token as part of the previous word. */
const SUBWORD_PREFIX = "##";

export interface AggregationContext {
  /** Label name by class index. */
  labels: readonly string[];
  unkTokenId: number | undefined;
  /** Pieces back to text (the fast tokenizer's convert_tokens_to_string). */
  tokensToString: (tokens: readonly string[]) => string;
}

/** A non-special token with its label probabilities, before aggregation. */
export interface PreEntity {
  word: string;
  scores: readonly number[];
  start: number;
  end: number;
  index: number;
  /** Continues the previous token's word. */
  isSubword: boolean;
}

/** Word-level entity (strategies first/average/max) before grouping: no index. */
interface WordEntity {
  entity: string;
  score: number;
  word: string;
  start: number;
  end: number;
}

/** HF gather_pre_entities: special tokens dropped; a piece is a sub-word when its token is longer than its text ("##ing" vs "ing"). */
export function gatherPreEntities(
  text: string,
  encoding: Pick<Encoding, "inputIds" | "tokens" | "offsets" | "specialTokensMask">,
  scores: readonly (readonly number[])[],
  ctx: Pick<AggregationContext, "unkTokenId">,
  indexOffset = 0,
): PreEntity[] {
  const out: PreEntity[] = [];
  for (let t = 0; t < scores.length; t++) {
    if (encoding.specialTokensMask[t] === 1) continue;
    const [start, end] = encoding.offsets[t];
    const ref = text.slice(start, end);
    let word = encoding.tokens[t];
    // Python's len counts code points.
    let isSubword = codePoints(word) !== codePoints(ref);
    if (encoding.inputIds[t] === ctx.unkTokenId) {
      word = ref;
      isSubword = false;
    }
    out.push({ word, scores: scores[t], start, end, index: t + indexOffset, isSubword });
  }
  return out;
}

function codePoints(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/** First index of the largest value (numpy argmax). */
function argmax(v: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i] > v[best]) best = i;
  return best;
}

/** HF aggregate: "none" gives tokens; the others group tokens ("simple") or words (first/average/max) into entities. */
export function aggregate(pre: readonly PreEntity[], strategy: AggregationStrategy, ctx: AggregationContext): TokenClassificationEntity[] {
  if (strategy === "none" || strategy === "simple") {
    const tokens: TokenEntity[] = pre.map((p) => {
      const k = argmax(p.scores);
      return { entity: ctx.labels[k], score: p.scores[k], index: p.index, word: p.word, start: p.start, end: p.end };
    });
    return strategy === "none" ? tokens : groupEntities(tokens, ctx);
  }
  return groupEntities(aggregateWords(pre, strategy, ctx), ctx);
}

/** HF aggregate_words: a word is a token plus the sub-word tokens after it; one label per word. */
function aggregateWords(pre: readonly PreEntity[], strategy: "first" | "average" | "max", ctx: AggregationContext): WordEntity[] {
  const words: WordEntity[] = [];
  let group: PreEntity[] = [];
  for (const p of pre) {
    if (group.length > 0 && !p.isSubword) {
      words.push(aggregateWord(group, strategy, ctx));
      group = [];
    }
    group.push(p);
  }
  if (group.length > 0) words.push(aggregateWord(group, strategy, ctx));
  return words;
}

function aggregateWord(group: readonly PreEntity[], strategy: "first" | "average" | "max", ctx: AggregationContext): WordEntity {
  let scores: readonly number[];
  if (strategy === "first") scores = group[0].scores;
  else if (strategy === "max") {
    // The token whose best label is most confident (the first one on ties, like Python's max).
    let best = group[0];
    for (const p of group) if (Math.max(...p.scores) > Math.max(...best.scores)) best = p;
    scores = best.scores;
  } else {
    scores = group[0].scores.map((_, k) => {
      let sum = 0;
      for (const p of group) sum += p.scores[k];
      return sum / group.length;
    });
  }
  const k = argmax(scores);
  return {
    entity: ctx.labels[k],
    score: scores[k],
    word: ctx.tokensToString(group.map((p) => p.word)),
    start: group[0].start,
    end: group[group.length - 1].end,
  };
}

/** HF get_tag: "B-PER" → [B, PER]; a label without a B-/I- prefix counts as a continuation. */
function bioTag(label: string): [bi: "B" | "I", tag: string] {
  if (label.startsWith("B-")) return ["B", label.slice(2)];
  if (label.startsWith("I-")) return ["I", label.slice(2)];
  return ["I", label];
}

/** HF group_entities: adjacent entities of one type merge unless the next one begins with B-. */
export function groupEntities(entities: readonly WordEntity[], ctx: Pick<AggregationContext, "tokensToString">): EntityGroup[] {
  const groups: EntityGroup[] = [];
  let current: WordEntity[] = [];
  for (const e of entities) {
    if (current.length > 0) {
      const [bi, tag] = bioTag(e.entity);
      const [, lastTag] = bioTag(current[current.length - 1].entity);
      if (tag !== lastTag || bi === "B") {
        groups.push(groupSubEntities(current, ctx));
        current = [];
      }
    }
    current.push(e);
  }
  if (current.length > 0) groups.push(groupSubEntities(current, ctx));
  return groups;
}

function groupSubEntities(entities: readonly WordEntity[], ctx: Pick<AggregationContext, "tokensToString">): EntityGroup {
  const first = entities[0].entity;
  const dash = first.indexOf("-");
  let score = 0;
  for (const e of entities) score += e.score;
  return {
    entity_group: dash < 0 ? first : first.slice(dash + 1),
    score: score / entities.length,
    word: ctx.tokensToString(entities.map((e) => e.word)),
    start: entities[0].start,
    end: entities[entities.length - 1].end,
  };
}

function filterIgnored(entities: TokenClassificationEntity[], ignore: readonly string[]): TokenClassificationEntity[] {
  return entities.filter((e) => !ignore.includes("entity" in e ? e.entity : e.entity_group));
}

/**
 * HF aggregate_overlapping_entities, for windowed texts: sorted by start, an entity that starts
 * inside the previous one replaces it only when longer (or as long and more confident).
 */
export function aggregateOverlappingEntities<E extends { start: number; end: number; score: number }>(entities: readonly E[]): E[] {
  if (entities.length === 0) return [];
  const sorted = [...entities].sort((a, b) => a.start - b.start);
  const out: E[] = [];
  let previous = sorted[0];
  for (const e of sorted) {
    if (previous.start <= e.start && e.start < previous.end) {
      const len = e.end - e.start;
      const prevLen = previous.end - previous.start;
      if (len > prevLen || (len === prevLen && e.score > previous.score)) previous = e;
    } else {
      out.push(previous);
      previous = e;
    }
  }
  out.push(previous);
  return out;
}

/**
 * The whole text's tokens and logits from its windows: each position is taken from the window
 * where it has the most tokens on its shorter side (the max-context rule of BERT's SQuAD code).
 */
export function stitchWindows(
  windows: readonly {
    encoding: Pick<Encoding, "tokens" | "specialTokensMask">;
    indexOffset: number;
    logits: { data: Float32Array; shape: readonly number[] };
  }[],
): { tokens: string[]; logits: number[][] } {
  const tokens: string[] = [];
  const logits: number[][] = [];
  const context: number[] = [];
  windows.forEach((w, k) => {
    const [len, numLabels] = w.logits.shape;
    let seenText = false;
    for (let t = 0; t < len; t++) {
      const special = w.encoding.specialTokensMask[t] === 1;
      seenText ||= !special;
      // Special tokens of the whole text: the leading ones of the first window, the trailing ones of the last.
      if (special && !(seenText ? k === windows.length - 1 : k === 0)) continue;
      const g = t + w.indexOffset;
      const ctxSize = Math.min(t, len - 1 - t);
      if (context[g] !== undefined && context[g] >= ctxSize) continue;
      tokens[g] = w.encoding.tokens[t];
      logits[g] = Array.from(w.logits.data.subarray(t * numLabels, (t + 1) * numLabels));
      context[g] = ctxSize;
    }
  });
  return { tokens, logits };
}
