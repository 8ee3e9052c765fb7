/**
 * Tables of { text, tokens, decoded } checked against hand-worked Hugging Face behaviour. Ids are
 * looked up in vocab.txt by this test (line number), not by the tokenizer.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { BertTokenizer, type Tokenizer } from "../../src/tokenizers/index.js";
import { parseVocabTxt } from "../../src/tokenizers/models/index.js";
import { modelPath, skipUnlessModel } from "../helpers/paths.js";

interface Case {
  text: string;
  tokens: string[];
  decoded?: string;
  why: string;
}

function vocabIds(folder: string): Map<string, number> {
  const lines = readFileSync(join(modelPath(folder), "vocab.txt"), "utf8").split("\n");
  return new Map(lines.map((t, i) => [t, i]));
}

function runTable(tok: Tokenizer, ids: Map<string, number>, cases: Case[], label: string): void {
  for (const c of cases) {
    const enc = tok.encode(c.text);
    const want = ["[CLS]", ...c.tokens, "[SEP]"];
    assert.deepEqual(enc.tokens, want, `${label}: ${c.why} — ${JSON.stringify(c.text)}`);
    assert.deepEqual(enc.inputIds, want.map((t) => ids.get(t)), `${label}: ids of ${JSON.stringify(c.text)}`);
    if (c.decoded !== undefined) assert.equal(tok.decode(enc.inputIds, { skipSpecialTokens: true }), c.decoded, `${label}: decode ${JSON.stringify(c.text)}`);
  }
}

const UNCASED = "minilm-l6-h384-random";
const uncasedCases: Case[] = [
  { text: "Hello, world!", tokens: ["hello", ",", "world", "!"], decoded: "hello, world!", why: "punctuation split, clean-up on decode" },
  { text: "Café naïve", tokens: ["cafe", "naive"], decoded: "cafe naive", why: "accents stripped when lower-casing (strip_accents null)" },
  { text: "ÉCOLE", tokens: ["ecole"], why: "upper-case accented letters" },
  { text: "İstanbul", tokens: ["istanbul"], why: "'İ' lower-cases to i + combining dot (2 chars), the dot is stripped" },
  { text: "ΟΔΟΣ", tokens: ["ο", "##δ", "##ο", "##σ"], why: "HF lower-cases per character: final capital sigma becomes σ, not ς" },
  { text: "¿Qué?", tokens: ["¿", "que", "?"], decoded: "¿ que?", why: "Unicode punctuation (Po) splits" },
  { text: "don't", tokens: ["don", "'", "t"], decoded: "don't", why: "apostrophe is punctuation; decode joins \" ' \"" },
  { text: "a\u0000b\u200b", tokens: ["ab"], why: "NUL and zero-width space (Cf) are removed, not split on" },
  { text: "The [MASK] sat", tokens: ["the", "[MASK]", "sat"], decoded: "the sat", why: "special tokens are kept whole and not lower-cased" },
  { text: "x[MASK]y", tokens: ["x", "[MASK]", "y"], why: "special tokens match inside words" },
  { text: "[mask]", tokens: ["[", "mask", "]"], why: "a lower-case look-alike is ordinary text" },
  { text: "", tokens: [], decoded: "", why: "empty text" },
  { text: " \t\n\u00a0\u3000 ", tokens: [], decoded: "", why: "whitespace only (incl. NBSP and ideographic space)" },
  { text: "👍 ok", tokens: ["[UNK]", "ok"], decoded: "ok", why: "emoji not in the vocabulary: [UNK] (skipped as special on decode)" },
  { text: "x".repeat(101), tokens: ["[UNK]"], why: "words over 100 characters are [UNK]" },
  { text: "\u{1F600}".repeat(101) + " a", tokens: ["[UNK]", "a"], why: "length counts code points, not UTF-16 units" },
];

test("edge cases: uncased vocabulary, vocab.txt and tokenizer.json", { skip: skipUnlessModel(UNCASED) }, async () => {
  const ids = vocabIds(UNCASED);
  runTable(await BertTokenizer.fromPretrained(modelPath(UNCASED), { source: "vocab.txt" }), ids, uncasedCases, "vocab.txt");
  runTable(await BertTokenizer.fromPretrained(modelPath(UNCASED)), ids, uncasedCases, "tokenizer.json");
});

/**
 * transformers' BertTokenizer (`_is_control`: `unicodedata.category(c).startswith("C")`) and the Rust
 * BertNormalizer (`is_other`) both drop every category-C character but \t \n \r, so the word around
 * it stays whole. One character of each class, checked against the reference kit's slow tokenizer
 * (Python 3.11's unicodedata): "a\uE000b c" → ["ab", "c"].
 */
const CATEGORY_C: [string, string][] = [
  ["\u0001", "Cc"],
  ["\u007f", "Cc"],
  ["\u0085", "Cc (NEL: Python's split() whitespace, removed first)"],
  ["\u00ad", "Cf (soft hyphen)"],
  ["\u200b", "Cf (zero-width space)"],
  ["\u2066", "Cf (bidi isolate)"],
  ["\ufeff", "Cf (BOM)"],
  ["\u{e0001}", "Cf (language tag, astral)"],
  ["\ue000", "Co (private use)"],
  ["\u{f0000}", "Co (supplementary private use, astral)"],
  ["\u0378", "Cn (unassigned)"],
  ["\ufdd0", "Cn (noncharacter)"],
  ["\uffff", "Cn (noncharacter)"],
  ["\u{10ffff}", "Cn (noncharacter, astral)"],
  ["\ud800", "Cs (lone high surrogate)"],
  ["\udc00", "Cs (lone low surrogate)"],
];

test("edge cases: every category-C class is removed on both paths (vocab.txt and tokenizer.json)", { skip: skipUnlessModel(UNCASED) }, async () => {
  const slow = await BertTokenizer.fromPretrained(modelPath(UNCASED), { source: "vocab.txt" });
  const fast = await BertTokenizer.fromPretrained(modelPath(UNCASED));
  for (const [tok, label] of [[slow, "vocab.txt"], [fast, "tokenizer.json"]] as const) {
    for (const [ch, category] of CATEGORY_C) {
      assert.deepEqual(tok.tokenize(`a${ch}b c`), ["ab", "c"], `${label}: ${category} U+${ch.codePointAt(0)!.toString(16)} inside a word`);
      assert.deepEqual(tok.tokenize(ch), [], `${label}: ${category} alone`);
    }
    // Tab, newline and carriage return are Cc but whitespace: they split words.
    assert.deepEqual(tok.tokenize("a\tb\nc\rd"), ["a", "b", "c", "d"], `${label}: \\t \\n \\r split`);
    const enc = tok.encode("a\ue000b z");
    assert.deepEqual(enc.offsets.slice(1, -1), [[0, 3], [4, 5]], `${label}: offsets span the removed character`);
  }
});

const CHINESE = "google-bert--bert-base-chinese";
const chineseCases: Case[] = [
  { text: "今天", tokens: ["今", "天"], decoded: "今 天", why: "each CJK ideograph is a word" },
  { text: "我love你", tokens: ["我", "love", "你"], why: "spaces around CJK split it from Latin text" },
  { text: "Hello hello", tokens: ["[UNK]", "hello"], why: "do_lower_case false: case kept" },
  { text: "é", tokens: ["[UNK]"], why: "no lower-casing, so no accent stripping" },
];

test("edge cases: cased Chinese vocabulary (do_lower_case false)", { skip: skipUnlessModel(CHINESE) }, async () => {
  const tok = await BertTokenizer.fromPretrained(modelPath(CHINESE));
  assert.equal(tok.source, "vocab.txt");
  runTable(tok, vocabIds(CHINESE), chineseCases, "chinese");
  // The slow tokenizer composes (NFC) before splitting: a decomposed é equals the precomposed one.
  assert.deepEqual(tok.tokenize("cafe\u0301 x"), tok.tokenize("caf\u00e9 x"));
  const enc = tok.encode("cafe\u0301 x");
  assert.deepEqual(enc.offsets.at(-2), [6, 7], "offsets after a composed character still point into the original");
});

/** A hand-made vocabulary: every expectation below can be worked out on paper. */
const TINY_VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "un", "##aff", "##able", "##a", "aff", "hello", "world", "##s", ",", "-", "hello-world", "the"].join("\n") + "\n";

test("WordPiece on a tiny vocabulary: greedy longest match first", () => {
  const tok = BertTokenizer.fromVocab(parseVocabTxt(TINY_VOCAB));
  assert.deepEqual(tok.tokenize("unaffable"), ["un", "##aff", "##able"]);
  assert.deepEqual(tok.tokenize("worlds, hellos"), ["world", "##s", ",", "hello", "##s"]);
  assert.deepEqual(tok.tokenize("unx"), ["[UNK]"], "no complete segmentation: the whole word is [UNK]");
  assert.deepEqual(tok.tokenize("hello-world"), ["hello", "-", "world"], "punctuation splits by default");
  assert.deepEqual(tok.encode("unaffable").inputIds, [2, 5, 6, 7, 3]);
  assert.equal(tok.decode([2, 5, 6, 7, 13, 10, 3]), "[CLS] unaffable, hello [SEP]");
  assert.equal(tok.decode([2, 5, 6, 7, 13, 10, 3], { cleanUpTokenizationSpaces: false }), "[CLS] unaffable , hello [SEP]");
  assert.equal(tok.vocabSize, 17);
  assert.deepEqual([tok.padTokenId, tok.unkTokenId, tok.clsTokenId, tok.sepTokenId, tok.maskTokenId], [0, 1, 2, 3, 4]);
  assert.deepEqual(tok.convertTokensToIds(["hello", "nope"]), [10, 1]);
  assert.deepEqual(tok.convertIdsToTokens([10, 12, 999]), ["hello", "##s", "[UNK]"]);
});

test("never_split keeps a word whole (looked up as is, [UNK] if absent)", () => {
  const tok = BertTokenizer.fromVocab(parseVocabTxt(TINY_VOCAB), { tokenizerConfig: { never_split: ["hello-world", "un-aff"] } });
  assert.deepEqual(tok.tokenize("hello-world the"), ["hello-world", "the"]);
  assert.deepEqual(tok.tokenize("un-aff"), ["[UNK]"]);
  assert.deepEqual(tok.tokenize("the hello-world,"), ["the", "hello", "-", "world", ","], "only whole whitespace-delimited words");
});

test("added tokens from tokenizer.json: kept whole, decoded apart", () => {
  const vocab: Record<string, number> = {};
  TINY_VOCAB.trim().split("\n").forEach((t, i) => (vocab[t] = i));
  const special = (id: number, content: string) => ({ id, content, special: true, normalized: false, lstrip: false, rstrip: false, single_word: false });
  const tok = BertTokenizer.fromTokenizerJson({
    added_tokens: [special(0, "[PAD]"), special(1, "[UNK]"), special(2, "[CLS]"), special(3, "[SEP]"), special(4, "[MASK]"), { id: 17, content: "<ent>", special: false, normalized: false }],
    normalizer: { type: "BertNormalizer", lowercase: true, strip_accents: null, clean_text: true, handle_chinese_chars: true },
    pre_tokenizer: { type: "BertPreTokenizer" },
    model: { type: "WordPiece", unk_token: "[UNK]", continuing_subword_prefix: "##", max_input_chars_per_word: 100, vocab },
    post_processor: { type: "BertProcessing", cls: ["[CLS]", 2], sep: ["[SEP]", 3] },
    decoder: { type: "WordPiece", prefix: "##", cleanup: true },
  });
  const enc = tok.encode("Hello<ent>World");
  assert.deepEqual(enc.tokens, ["[CLS]", "hello", "<ent>", "world", "[SEP]"]);
  assert.deepEqual(enc.inputIds, [2, 10, 17, 11, 3]);
  assert.deepEqual(enc.offsets, [[0, 0], [0, 5], [5, 10], [10, 15], [0, 0]]);
  assert.deepEqual(enc.specialTokensMask, [1, 0, 0, 0, 1]);
  assert.equal(tok.decode(enc.inputIds, { skipSpecialTokens: true }), "hello <ent> world");
});

test("unknown stage types are named in the error", () => {
  const base = { model: { type: "WordPiece", unk_token: "[UNK]", vocab: { "[UNK]": 0 } } };
  assert.throws(() => BertTokenizer.fromTokenizerJson({ ...base, normalizer: { type: "Fancy" } }), /Unknown normalizer type: Fancy/);
  assert.throws(() => BertTokenizer.fromTokenizerJson({ ...base, pre_tokenizer: { type: "Odd" } }), /Unknown pre-tokenizer type: Odd/);
  assert.throws(() => BertTokenizer.fromTokenizerJson({ ...base, decoder: { type: "Nope" } }), /Unknown decoder type: Nope/);
  assert.throws(() => BertTokenizer.fromTokenizerJson({ ...base, post_processor: { type: "Huh" } }), /Unknown post-processor type: Huh/);
  assert.throws(() => BertTokenizer.fromTokenizerJson({ model: { type: "WordLevel", vocab: {} } }), /Unknown model type: WordLevel/);
});
