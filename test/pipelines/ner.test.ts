/**
 * The token-classification ("ner") pipeline.
 * - Aggregation on hand-built probabilities where the right answer is known: B-/I- grouping,
 *   a word split by "##" on which first, average and max disagree, unknown tokens, B after B,
 *   labels without a prefix, ignore_labels; the merge of overlapping windows.
 * - End to end on the random NER model (labels mean nothing, arithmetic is exact): logits through
 *   the tokenizer against PyTorch, structure and offsets of every strategy, determinism, and a text
 *   of over 1,700 tokens cut into windows with nothing dropped.
 */
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { softmax } from "../../src/heads/scores.js";
import { pipeline, type TokenClassificationPipeline } from "../../src/pipelines/index.js";
import {
  aggregate,
  aggregateOverlappingEntities,
  gatherPreEntities,
  stitchWindows,
  type AggregationContext,
  type AggregationStrategy,
  type EntityGroup,
  type TokenEntity,
} from "../../src/pipelines/token-classification.js";
import { WordPieceDecoder } from "../../src/tokenizers/decoders/index.js";
import { assertClose } from "../helpers/assert.js";
import { loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG"];
const decoder = new WordPieceDecoder("##", true);
const CTX: AggregationContext = { labels: LABELS, unkTokenId: 100, tokensToString: (t) => decoder.decode(t) };

/** A hand-made encoding: tokens with offsets found in the text, [CLS]/[SEP] around. */
function handEncoding(text: string, pieces: [token: string, start: number, end: number, id?: number][]) {
  const tokens = ["[CLS]", ...pieces.map((p) => p[0]), "[SEP]"];
  return {
    tokens,
    inputIds: [101, ...pieces.map((p) => p[3] ?? 1000), 102],
    offsets: [[0, 0] as [number, number], ...pieces.map((p) => [p[1], p[2]] as [number, number]), [0, 0] as [number, number]],
    specialTokensMask: [1, ...pieces.map(() => 0), 1],
    text,
  };
}

// "Jean Dupontier works at Acme." — "dupontier" is three pieces on which the strategies disagree.
const TEXT = "Jean Dupontier works at Acme.";
const ENC = handEncoding(TEXT, [
  ["jean", 0, 4],
  ["dup", 5, 8],
  ["##ont", 8, 11],
  ["##ier", 11, 14],
  ["works", 15, 20],
  ["at", 21, 23],
  ["ac", 24, 26],
  ["##me", 26, 28],
  [".", 28, 29],
]);
//            O     B-PER I-PER B-ORG I-ORG
const SCORES = [
  [0.2, 0.2, 0.2, 0.2, 0.2], // [CLS] (dropped)
  [0.1, 0.8, 0.05, 0.03, 0.02], // jean: B-PER
  [0.1, 0.05, 0.5, 0.3, 0.05], // dup: I-PER .50
  [0.05, 0.05, 0.1, 0.1, 0.7], // ##ont: I-ORG .70 (the most confident piece)
  [0.3, 0.05, 0.35, 0.25, 0.05], // ##ier: I-PER .35
  [0.9, 0.025, 0.025, 0.025, 0.025], // works: O
  [0.9, 0.025, 0.025, 0.025, 0.025], // at: O
  [0.1, 0.05, 0.05, 0.6, 0.2], // ac: B-ORG
  [0.1, 0.05, 0.05, 0.2, 0.6], // ##me: I-ORG
  [0.7, 0.1, 0.1, 0.05, 0.05], // .: O
  [0.2, 0.2, 0.2, 0.2, 0.2], // [SEP] (dropped)
];

function run(strategy: AggregationStrategy, ignore: readonly string[] = ["O"]) {
  const pre = gatherPreEntities(TEXT, ENC, SCORES, CTX);
  return aggregate(pre, strategy, CTX).filter((e) => !ignore.includes("entity" in e ? e.entity : e.entity_group));
}

const round = <T extends { score: number }>(xs: T[]) => xs.map((x) => ({ ...x, score: Math.round(x.score * 1e6) / 1e6 }));

describe("token classification: aggregation on hand-built scores", () => {
  it("marks '##' pieces as sub-words and drops special tokens", () => {
    const pre = gatherPreEntities(TEXT, ENC, SCORES, CTX);
    assert.deepEqual(pre.map((p) => p.index), [1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.deepEqual(pre.map((p) => p.isSubword), [false, false, true, true, false, false, false, true, false]);
  });

  it('"none": one entity per token, with index, token and offsets', () => {
    assert.deepEqual(round(run("none") as TokenEntity[]), [
      { entity: "B-PER", score: 0.8, index: 1, word: "jean", start: 0, end: 4 },
      { entity: "I-PER", score: 0.5, index: 2, word: "dup", start: 5, end: 8 },
      { entity: "I-ORG", score: 0.7, index: 3, word: "##ont", start: 8, end: 11 },
      { entity: "I-PER", score: 0.35, index: 4, word: "##ier", start: 11, end: 14 },
      { entity: "B-ORG", score: 0.6, index: 7, word: "ac", start: 24, end: 26 },
      { entity: "I-ORG", score: 0.6, index: 8, word: "##me", start: 26, end: 28 },
    ]);
  });

  it('"simple": B-/I- tokens grouped, a word split where its pieces disagree', () => {
    assert.deepEqual(round(run("simple") as EntityGroup[]), [
      { entity_group: "PER", score: 0.65, word: "jean dup", start: 0, end: 8 },
      { entity_group: "ORG", score: 0.7, word: "##ont", start: 8, end: 11 },
      { entity_group: "PER", score: 0.35, word: "##ier", start: 11, end: 14 },
      { entity_group: "ORG", score: 0.6, word: "acme", start: 24, end: 28 },
    ]);
  });

  it('"first": the word takes its first piece\'s label', () => {
    assert.deepEqual(round(run("first") as EntityGroup[]), [
      { entity_group: "PER", score: 0.65, word: "jean dupontier", start: 0, end: 14 },
      { entity_group: "ORG", score: 0.6, word: "acme", start: 24, end: 28 },
    ]);
  });

  it('"average": the word takes the best label of its averaged pieces', () => {
    // dupontier: I-PER (0.5 + 0.1 + 0.35) / 3 beats I-ORG (0.05 + 0.7 + 0.05) / 3.
    const perWord = (0.8 + (0.5 + 0.1 + 0.35) / 3) / 2;
    const acme = (0.6 + 0.2) / 2; // ac ##me average: B-ORG .4 = I-ORG .4 → the first, B-ORG
    assert.deepEqual(round(run("average") as EntityGroup[]), round([
      { entity_group: "PER", score: perWord, word: "jean dupontier", start: 0, end: 14 },
      { entity_group: "ORG", score: acme, word: "acme", start: 24, end: 28 },
    ]));
  });

  it('"max": the word takes the label of its most confident piece', () => {
    assert.deepEqual(round(run("max") as EntityGroup[]), [
      { entity_group: "PER", score: 0.8, word: "jean", start: 0, end: 4 },
      { entity_group: "ORG", score: 0.7, word: "dupontier", start: 5, end: 14 },
      { entity_group: "ORG", score: 0.6, word: "acme", start: 24, end: 28 },
    ]);
  });

  it("keeps O groups when ignore_labels is empty", () => {
    const groups = run("first", []) as EntityGroup[];
    assert.deepEqual(groups.map((g) => [g.entity_group, g.word]), [["PER", "jean dupontier"], ["O", "works at"], ["ORG", "acme"], ["O", "."]]);
  });

  it("starts a new group at B- even for the same type, continues on a label without prefix", () => {
    const labels = ["O", "B-PER", "I-PER", "PER"];
    const ctx = { ...CTX, labels };
    const text = "Ann Bob Cy Dee";
    const enc = handEncoding(text, [["ann", 0, 3], ["bob", 4, 7], ["cy", 8, 10], ["dee", 11, 14]]);
    const one = (k: number) => labels.map((_, i) => (i === k ? 0.9 : 0.1 / 3));
    const scores = [one(0), one(1), one(1), one(2), one(3), one(0)];
    const groups = aggregate(gatherPreEntities(text, enc, scores, ctx), "simple", ctx) as EntityGroup[];
    assert.deepEqual(groups.map((g) => [g.entity_group, g.word, g.start, g.end]), [["PER", "ann", 0, 3], ["PER", "bob cy dee", 4, 14]]);
  });

  it("uses the original text for an unknown token and never treats it as a sub-word", () => {
    const text = "I ♞ x";
    const enc = handEncoding(text, [["i", 0, 1], ["[UNK]", 2, 3, 100], ["x", 4, 5]]);
    const s = [0.2, 0.2, 0.2, 0.2, 0.2];
    const pre = gatherPreEntities(text, enc, [s, s, s, s, s], CTX);
    assert.equal(pre[1].word, "♞");
    assert.equal(pre[1].isSubword, false);
  });

  it("merges overlapping windows' entities: the longer wins, then the more confident", () => {
    const e = (start: number, end: number, score: number) => ({ start, end, score });
    assert.deepEqual(aggregateOverlappingEntities([e(10, 14, 0.9), e(0, 4, 0.5), e(10, 20, 0.4), e(0, 4, 0.6), e(30, 31, 0.1)]), [
      e(0, 4, 0.6),
      e(10, 20, 0.4),
      e(30, 31, 0.1),
    ]);
    assert.deepEqual(aggregateOverlappingEntities([]), []);
  });

  it("stitches a windowed text's logits, each token from the window where it has most context", () => {
    // Whole text: [CLS] a b c d e [SEP]; windows of 3 text tokens, stride 1 (step 2): a b c / c d e.
    const win = (tokens: string[], rows: number[]) => ({
      encoding: { tokens, specialTokensMask: tokens.map((t) => (t.startsWith("[") ? 1 : 0)) },
      logits: { data: Float32Array.from(rows), shape: [rows.length, 1] },
    });
    const { tokens, logits } = stitchWindows([
      { ...win(["[CLS]", "a", "b", "c", "[SEP]"], [0, 1, 2, 3, 4]), indexOffset: 0 },
      { ...win(["[CLS]", "c", "d", "e", "[SEP]"], [10, 13, 14, 15, 16]), indexOffset: 2 },
      { ...win(["[CLS]", "e", "[SEP]"], [20, 25, 26]), indexOffset: 4 },
    ]);
    assert.deepEqual(tokens, ["[CLS]", "a", "b", "c", "d", "e", "[SEP]"]);
    // c: 1 token of context on its short side in both windows → the first; e: more in window 2 than 3.
    assert.deepEqual(logits.flat(), [0, 1, 2, 3, 14, 15, 26]);
  });
});

const NAME = "bert-micro-ner-random";
const STRATEGIES: AggregationStrategy[] = ["none", "simple", "first", "average", "max"];
const SENTENCE = "Hugging Face is based in New York City and Clement Delangue works at HuggingFace in Paris";

/** What the uncased tokenizer makes of a span of plain ASCII text. */
const lower = (s: string) => s.toLowerCase();

describe("token-classification pipeline: random NER model", { skip: skipUnlessModel(NAME) || skipUnlessGolden(`${NAME}.json`) }, () => {
  let ner: TokenClassificationPipeline;
  let g: any;
  before(async () => {
    g = loadGolden(`${NAME}.json`);
    ner = await pipeline("ner", modelPath(NAME));
  });

  it("gives PyTorch's logits from text (every golden text; the long one in its first window)", async () => {
    const inputs = g.inputs.filter((x: any) => typeof x.input === "string");
    const results = await ner.run(inputs.map((x: any) => x.input));
    inputs.forEach((inp: any, i: number) => {
      const r = results[i];
      if (!inp.truncated) {
        assert.deepEqual(r.tokens, inp.tokens, `input ${i} tokens`);
        assertClose(r.logits.flat(), inp.outputs.tokcls.logits, 1e-4, `input ${i} logits`);
        return;
      }
      // Beyond 512 tokens: window 0 is what the reference computed; rows before window 1 starts come from it.
      assert.ok(r.windows > 1 && r.tokens.length === inp.num_tokens_untruncated, `input ${i} windowed whole`);
      assert.deepEqual(r.tokens.slice(0, 511), inp.tokens.slice(0, 511));
      assertClose(r.logits.slice(0, 382).flat(), inp.outputs.tokcls.logits.slice(0, 382), 1e-4, `input ${i} logits (window 0)`);
    });
  });

  it("gives each strategy's fields, spans in order and inside the text, words matching the text", async () => {
    for (const strategy of STRATEGIES) {
      const { entities, tokens, logits } = (await ner.run([SENTENCE], { aggregationStrategy: strategy, ignoreLabels: [] }))[0];
      assert.ok(entities.length > 0, strategy);
      let last = -1;
      for (const e of entities) {
        assert.ok(0 <= e.start && e.start < e.end && e.end <= SENTENCE.length, `${strategy}: span ${e.start}-${e.end}`);
        assert.ok(e.start >= last, `${strategy}: in text order`);
        last = e.end;
        assert.ok(e.score > 0 && e.score <= 1, `${strategy}: score ${e.score}`);
        const slice = lower(SENTENCE.slice(e.start, e.end));
        if (strategy === "none") {
          const t = e as TokenEntity;
          assert.deepEqual(Object.keys(t).sort(), ["end", "entity", "index", "score", "start", "word"]);
          assert.equal(tokens[t.index], t.word);
          assert.equal(t.word.replace(/^##/, ""), slice);
          const probs = softmax(logits[t.index]);
          assert.equal(t.entity, ner.model.labels[probs.indexOf(Math.max(...probs))]);
          assertClose([t.score], [Math.max(...probs)], 1e-12, "token score");
        } else {
          const grp = e as EntityGroup;
          assert.deepEqual(Object.keys(grp).sort(), ["end", "entity_group", "score", "start", "word"]);
          assert.ok(!/^[BI]-/.test(grp.entity_group));
          // Words are whole for first/average/max; "simple" may start a group inside a word ("##face").
          assert.equal(strategy === "simple" ? grp.word.replace(/^##/, "") : grp.word, slice, `${strategy}: word vs text`);
        }
      }
      // Everything but special tokens is covered when nothing is ignored.
      if (strategy === "none") assert.equal(entities.length, tokens.length - 2);
    }
  });

  it("leaves out O by default, honours the pipeline's default strategy and per-call overrides", async () => {
    const simple = await pipeline("token-classification", modelPath(NAME), { aggregationStrategy: "simple" });
    assert.equal(simple.aggregationStrategy, "simple");
    const groups = await simple(SENTENCE);
    assert.ok(groups.every((e) => "entity_group" in e && e.entity_group !== "O"));
    const tokens = await simple(SENTENCE, { aggregationStrategy: "none" });
    assert.ok(tokens.every((e) => "entity" in e && e.entity !== "O"));
    const batch = await simple([SENTENCE, "Paris"]);
    assert.equal(batch.length, 2);
    assert.deepEqual(batch[0], groups);
    await assert.rejects(() => simple(SENTENCE, { aggregationStrategy: "best" as AggregationStrategy }), /aggregationStrategy/);
  });

  it("gives the same entities alone, one text per pass, or among other texts of other lengths", async () => {
    const alone = (await ner.run([SENTENCE], { aggregationStrategy: "average" }))[0];
    const single = await pipeline("ner", modelPath(NAME), { batchSize: 1 });
    const mixed = await single.run(["Paris", SENTENCE, `${SENTENCE} and again ${SENTENCE}`], { aggregationStrategy: "average" });
    assert.deepEqual(mixed[1], alone);
    assert.ok((alone.entities as unknown[]).length > 0, "the sentence has entities to compare");
  });

  it("cuts a text of more than 512 tokens into overlapping windows and drops nothing", async () => {
    const words = Array.from({ length: 420 }, (_, i) => `Person${i} visited Antananarivo`);
    const text = words.join(" ");
    const [r] = await ner.run([text], { aggregationStrategy: "none", ignoreLabels: [] });
    assert.ok(r.tokens.length > 1500, `${r.tokens.length} tokens`);
    assert.ok(r.windows >= 4, `${r.windows} windows`);
    assert.equal(r.tokens[0], "[CLS]");
    assert.equal(r.tokens.at(-1), "[SEP]");
    const entities = r.entities as TokenEntity[];
    // Every token once, in order, index counted over the whole text.
    assert.deepEqual(entities.map((e) => e.index), Array.from({ length: r.tokens.length - 2 }, (_, i) => i + 1));
    for (const e of entities) {
      assert.equal(e.word, r.tokens[e.index]);
      assert.equal(e.word.replace(/^##/, ""), lower(text.slice(e.start, e.end)));
    }
    assert.equal(entities.at(-1)!.end, text.length);

    // Word-level strategies cover the text too: every word appears in exactly one entity.
    for (const strategy of ["first", "average", "max", "simple"] as const) {
      const [w] = await ner.run([text], { aggregationStrategy: strategy, ignoreLabels: [] });
      const groups = w.entities as EntityGroup[];
      for (let k = 1; k < groups.length; k++) assert.ok(groups[k].start >= groups[k - 1].end, `${strategy}: no overlap at ${k}`);
      const covered = groups.reduce((n, e) => n + (e.end - e.start), 0);
      const letters = text.replace(/ /g, "").length;
      assert.ok(covered >= letters && covered <= text.length, `${strategy}: covered ${covered} of ${letters} letters`);
      assert.equal(groups.at(-1)!.end, text.length);
    }

    // A smaller stride gives fewer windows, the same tokens.
    const [fewer] = await ner.run([text], { aggregationStrategy: "none", ignoreLabels: [], stride: 16 });
    assert.ok(fewer.windows < r.windows);
    assert.deepEqual(fewer.tokens, r.tokens);
  });
});
