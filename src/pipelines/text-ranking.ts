/**
 * The "text-ranking" pipeline: a cross-encoder (a sequence classifier with one output) scores
 * [query, passage] pairs read together, as sentence-transformers' CrossEncoder.predict / rank and
 * text-embeddings-inference's /rerank do.
 *
 *   const ranker = await pipeline("text-ranking", "cross-encoder/ms-marco-MiniLM-L-6-v2");
 *   await ranker("how many people live in berlin?", passages);   // best first, with `index`
 *
 * The score is the model's logit passed through the activation its CrossEncoder config names
 * (config.json `sentence_transformers.activation_fn`, or the older
 * `sbert_ce_default_activation_function`), else sigmoid for one label, as CrossEncoder does.
 * Long passages are cut (`only_second`: the query is kept whole) and the cut is reported.
 */
import type { ModelLocation } from "../io/model-source.js";
import { join } from "../io/host.js";
import type { BertForSequenceClassification } from "../heads/sequence-classification.js";
import { readModelJsonIfExists } from "../io/model-files.js";
import type { Encoding } from "../tokenizers/encoding.js";
import type { Tokenizer } from "../tokenizers/tokenizer.js";
import { checkTopK, inBatches, loadPipelineParts, type PipelineOptions, type PipelineParts } from "./common.js";

/** The activations a CrossEncoder config can name (torch.nn class names). */
export type RerankActivation = "sigmoid" | "identity" | "tanh";

const ACTIVATIONS: Record<string, RerankActivation> = {
  "torch.nn.modules.activation.Sigmoid": "sigmoid",
  "torch.nn.modules.linear.Identity": "identity",
  "torch.nn.modules.activation.Tanh": "tanh",
};

const APPLY: Record<RerankActivation, (x: number) => number> = {
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  identity: (x) => x,
  tanh: (x) => Math.tanh(x),
};

/** A logit → the activated score. */
export function activateScore(activation: RerankActivation, logit: number): number {
  return APPLY[activation](logit);
}

export interface PairScore {
  /** The activated score (or the raw logit with rawScores). */
  score: number;
  /** The raw logit. */
  logit: number;
  /** Passage (or, for over-long queries, query) tokens cut to fit the model; 0 when all was read. */
  numTruncatedTokens: number;
}

export interface RankedPassage extends PairScore {
  /** Position of the passage in the input list. */
  index: number;
  /** The passage, with returnText. */
  text?: string;
}

export interface TextRankingOptions {
  /** Scores are the raw logits instead of the activated ones. */
  rawScores?: boolean;
  /** Rank: keep the best k (default all). */
  topK?: number | null;
  /** Rank: include each passage's text. */
  returnText?: boolean;
}

export interface TextRankingPipeline {
  /** The passages ranked for the query, best first (ties keep input order). */
  (query: string, passages: readonly string[], options?: TextRankingOptions): Promise<RankedPassage[]>;
  readonly task: "text-ranking";
  readonly model: BertForSequenceClassification;
  readonly tokenizer: Tokenizer;
  readonly activation: RerankActivation;
  /** Longest pair in tokens, special tokens included. */
  readonly maxLength: number;
  /** One score per [query, passage] pair, in input order. */
  scorePairs(pairs: readonly (readonly [string, string])[], options?: TextRankingOptions): Promise<PairScore[]>;
}

/** The activation sentence-transformers' CrossEncoder applies for this config.json. */
export function crossEncoderActivation(config: Record<string, unknown>, numLabels: number, where: string): RerankActivation {
  const st = config.sentence_transformers;
  const named =
    typeof st === "object" && st !== null && Object.hasOwn(st, "activation_fn")
      ? (st as Record<string, unknown>).activation_fn
      : config.sbert_ce_default_activation_function;
  if (named === undefined || named === null) return numLabels === 1 ? "sigmoid" : "identity";
  if (typeof named !== "string" || !Object.hasOwn(ACTIVATIONS, named)) {
    throw new Error(`${where}: unsupported CrossEncoder activation ${JSON.stringify(named)}; supported: ${Object.keys(ACTIVATIONS).join(", ")}`);
  }
  return ACTIVATIONS[named];
}

export async function textRankingPipeline(modelNameOrPath: ModelLocation, options: PipelineOptions = {}): Promise<TextRankingPipeline> {
  const parts = await loadPipelineParts("text-classification", modelNameOrPath, options);
  if (parts.head.numLabels !== 1) {
    throw new Error(`${parts.dir} has ${parts.head.numLabels} labels; reranking needs a cross-encoder with one output (num_labels 1)`);
  }
  const configFile = join(parts.dir, "config.json");
  const activation = crossEncoderActivation(((await readModelJsonIfExists(configFile)) ?? {}) as Record<string, unknown>, 1, configFile);

  const scorePairs = async (pairs: readonly (readonly [string, string])[], opts: TextRankingOptions = {}): Promise<PairScore[]> => {
    pairs.forEach((p, i) => {
      if (!Array.isArray(p) || p.length !== 2 || typeof p[0] !== "string" || typeof p[1] !== "string") {
        throw new TypeError(`Expected a [query, passage] pair of strings for pair ${i} but received ${JSON.stringify(p)}`);
      }
    });
    return inBatches(pairs, parts.batchSize, (batch) => {
      const encodings = batch.map(([q, p]) => encodePair(parts, q, p));
      const { logits } = parts.head.forward(encodings);
      return encodings.map((enc, b) => {
        const logit = logits.data[b];
        return { score: opts.rawScores ? logit : activateScore(activation, logit), logit, numTruncatedTokens: enc.numTruncatedTokens ?? 0 };
      });
    });
  };

  async function rank(query: string, passages: readonly string[], opts: TextRankingOptions = {}): Promise<RankedPassage[]> {
    if (typeof query !== "string") throw new TypeError(`Expected a string for the query but received ${typeof query}`);
    if (!Array.isArray(passages)) throw new TypeError("Expected an array of passages");
    checkTopK(opts.topK);
    const scores = await scorePairs(passages.map((p) => [query, p] as const), opts);
    const ranked = scores
      .map((s, index): RankedPassage => ({ index, ...s, ...(opts.returnText ? { text: passages[index] } : {}) }))
      .sort((a, b) => b.logit - a.logit || a.index - b.index);
    return opts.topK ? ranked.slice(0, opts.topK) : ranked;
  }

  return Object.assign(rank, {
    task: "text-ranking" as const,
    model: parts.head,
    tokenizer: parts.tokenizer,
    activation,
    maxLength: parts.maxLength,
    scorePairs,
  });
}

/**
 * [CLS] query [SEP] passage [SEP], the passage cut when too long. A query that alone leaves no room
 * for the passage is cut too (longest_first, as CrossEncoder's own tokenizer call does).
 */
function encodePair(parts: PipelineParts<"text-classification">, query: string, passage: string): Encoding {
  const maxLength = parts.maxLength;
  const full = parts.tokenizer.encode(query, passage, { truncation: false });
  if (full.inputIds.length <= maxLength) return full;
  const specials = full.specialTokensMask.reduce((n, m) => n + m, 0);
  const queryTokens = full.sequenceIds.filter((s) => s === 0).length;
  const queryFits = queryTokens + specials < maxLength;
  return parts.tokenizer.encode(query, passage, { maxLength, truncation: queryFits ? "only_second" : "longest_first" });
}
