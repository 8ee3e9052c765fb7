/**
 * RobertaTokenizer on hard input: <mask>'s lstrip, special tokens in the text, add_prefix_space
 * (slow and fast rules), truncation / padding / overflow, lone surrogates, megabyte texts in linear
 * time, and a seeded fuzz: never throws, deterministic, offsets in range and in order, decode gives
 * the text back (lone surrogates as U+FFFD), both loading paths agree.
 */
import { assertLinear } from "../helpers/scaling.js";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { before, describe, it } from "node:test";
import { readFolderConfig } from "../../src/tokenizers/bert-tokenizer.js";
import { parseMerges, vocabFromObject } from "../../src/tokenizers/models/index.js";
import { RobertaTokenizer, type Encoding, type TokenizerJson } from "../../src/tokenizers/index.js";
import { modelPath, skipUnlessModel } from "../helpers/paths.js";
import { mulberry32 as rng, randomText as randomTextFrom } from "../helpers/random.js";

const MODEL = "roberta-micro-random";


const POOLS: string[][] = [
  [..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"],
  [..." \t\n\r  \u3000\u2028\u0085"],
  [..."!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~¿¡«»—–…‘’“”"],
  ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d", "'S", "n't"],
  [..."éÉàçñøßÆİıΣσςΟΔŁ"],
  ["\u0301", "\u0308", "\u0327", "\u20dd"],
  [..."中文字漢語日本語한국어ひらがなカタカナ"],
  ["😀", "👍🏽", "🇫🇷", "👩‍👩‍👧", "\u{20000}"],
  ["\u0000", "\u0007", "\u007f", "\u200b", "\ufeff", "\u00ad", "\ufffd", "\ue000", "\u0378"],
  ["\ud800", "\udbff", "\udc00", "\udfff"],
  ["<s>", "</s>", "<pad>", "<unk>", "<mask>", " <mask>", "<mask> ", "<MASK>", "<s"],
];

const randomText = (next: () => number): string => randomTextFrom(next, POOLS, 120);

/** What decode gives back: the text with each lone surrogate as U+FFFD. */
const wellFormed = (s: string): string => s.replace(/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, "\ufffd");

function checkOffsets(e: Encoding, texts: string[], label: string): void {
  let last = [-1, -1];
  let lastSeq: number | null = null;
  e.offsets.forEach(([s, t], k) => {
    const seq = e.sequenceIds[k];
    if (seq === null) return assert.deepEqual([s, t], [0, 0], label);
    if (seq !== lastSeq) last = [-1, -1];
    lastSeq = seq;
    assert.ok(Number.isInteger(s) && Number.isInteger(t) && 0 <= s && s <= t && t <= texts[seq].length, `${label}: offset ${k} [${s}, ${t}]`);
    assert.ok(s >= last[0] && t >= last[1], `${label}: offsets monotone at ${k}`);
    last = [s, t];
  });
}

describe("RobertaTokenizer edge cases", { skip: skipUnlessModel(MODEL) }, () => {
  let fast: RobertaTokenizer;
  let slow: RobertaTokenizer;
  before(async () => {
    fast = await RobertaTokenizer.fromPretrained(modelPath(MODEL), { source: "tokenizer.json" });
    slow = await RobertaTokenizer.fromPretrained(modelPath(MODEL), { source: "vocab.json" });
  });

  it("<mask> absorbs the space before it (AddedToken lstrip), and special tokens in the text stay whole", () => {
    for (const tok of [fast, slow]) {
      const e = tok.encode("The capital of France is <mask>.");
      assert.deepEqual(e.tokens, ["<s>", "The", "Ġcapital", "Ġof", "ĠFrance", "Ġis", "<mask>", ".", "</s>"]);
      assert.equal(e.inputIds[6], 50264);
      assert.deepEqual(e.offsets[6], [24, 31], "the swallowed space is part of <mask>'s span");
      assert.deepEqual(tok.encode("<s>hi</s>", null, { addSpecialTokens: false }).inputIds, [0, 3592, 2]);
      assert.deepEqual(tok.tokenize("a  <mask>"), ["a", "<mask>"]);
      assert.deepEqual(tok.tokenize("<mask> b"), ["<mask>", "Ġb"]);
      assert.equal(tok.decode(tok.encode("Hi <mask>!").inputIds), "<s>Hi<mask>!</s>");
      assert.equal(tok.decode(tok.encode("Hi <mask>!").inputIds, { skipSpecialTokens: true }), "Hi!");
    }
  });

  it("empty, whitespace-only, emoji, CJK, combining marks and lone surrogates", () => {
    for (const tok of [fast, slow]) {
      assert.deepEqual(tok.encode("").inputIds, [0, 2]);
      assert.deepEqual(tok.encode(" ").tokens, ["<s>", "Ġ", "</s>"]);
      assert.deepEqual(tok.encode(" ").offsets, [[0, 0], [1, 1], [0, 0]], "a space token trims to an empty span");
      for (const t of ["\n\n\t  ", "👩‍👩‍👧 ok", "漢字かな交じり文", "e\u0301\u0301", "a\ud800b", "\udc00"]) {
        const e = tok.encode(t);
        checkOffsets(e, [t], JSON.stringify(t));
        assert.equal(tok.decode(e.inputIds, { skipSpecialTokens: true }), wellFormed(t), JSON.stringify(t));
      }
      // A lone surrogate is encoded as U+FFFD (Python's slow tokenizer would raise instead).
      assert.deepEqual(tok.tokenize("a\ud800"), tok.tokenize("a\ufffd"));
      // The emoji's bytes are split across tokens; each token's offsets cover the whole emoji.
      const pizza = tok.encode("I love 🍕");
      assert.deepEqual(pizza.tokens.slice(3, 6), ["ĠðŁ", "į", "ķ"]);
      assert.deepEqual(pizza.offsets.slice(3, 6), [[7, 9], [7, 9], [7, 9]]);
    }
  });

  it("add_prefix_space: slow rule (one space before the text) and tokenizers' rule (each segment)", async () => {
    const dir = modelPath(MODEL);
    const folder = await readFolderConfig(dir);
    folder.tokenizerConfig = { ...folder.tokenizerConfig, add_prefix_space: true };
    const vocab = vocabFromObject(JSON.parse(await readFile(join(dir, "vocab.json"), "utf8")), "vocab.json");
    const merges = parseMerges(await readFile(join(dir, "merges.txt"), "utf8"));
    const slowPrefix = RobertaTokenizer.fromVocabAndMerges(vocab, merges, folder);
    const json = JSON.parse(await readFile(join(dir, "tokenizer.json"), "utf8")) as TokenizerJson;
    json.pre_tokenizer = { type: "ByteLevel", add_prefix_space: true, trim_offsets: true, use_regex: true };
    json.post_processor = { type: "RobertaProcessing", sep: ["</s>", 2], cls: ["<s>", 0], trim_offsets: true, add_prefix_space: true };
    const fastPrefix = RobertaTokenizer.fromTokenizerJson(json, folder);
    for (const tok of [slowPrefix, fastPrefix]) {
      const e = tok.encode("Hello world");
      assert.deepEqual(e.tokens, ["<s>", "ĠHello", "Ġworld", "</s>"]);
      assert.deepEqual(e.offsets, [[0, 0], [0, 5], [6, 11], [0, 0]]);
      assert.deepEqual(tok.tokenize(" Hello"), ["ĠHello"]);
      assert.equal(tok.decode(e.inputIds, { skipSpecialTokens: true }), " Hello world");
    }
    // Python's isspace: a text starting with a tab gets no space; tokenizers only checks for " ".
    assert.deepEqual(slowPrefix.tokenize("\tHi"), ["ĉ", "Hi"]);
    assert.deepEqual(fastPrefix.tokenize("\tHi"), ["Ġ", "ĉ", "Hi"]);
    // tokenizers: every segment between added tokens gets its own space.
    assert.deepEqual(fastPrefix.tokenize("<s>Hi"), ["<s>", "ĠHi"]);
  });

  it("truncation, padding with <pad> (id 1) and overflow windows", () => {
    const batch = slow.encodeBatch(["Hello world", ["How old are you?", "I am six years old."]], { padding: true });
    assert.equal(batch[0].inputIds.length, batch[1].inputIds.length);
    assert.deepEqual(batch[0].inputIds.slice(4), Array(batch[0].inputIds.length - 4).fill(1));
    assert.deepEqual(batch[0].attentionMask.slice(4), Array(batch[0].inputIds.length - 4).fill(0));
    assert.equal(batch[0].tokens.at(-1), "<pad>");
    const cut = slow.encode("one two three four five", "six seven eight nine ten", { truncation: true, maxLength: 10 });
    assert.deepEqual(cut.tokens, ["<s>", "one", "Ġtwo", "Ġthree", "</s>", "</s>", "six", "Ġseven", "Ġeight", "</s>"]);
    const windows = slow.encode("a b c d e f g h", null, { truncation: true, maxLength: 6, stride: 1, returnOverflowingTokens: true });
    assert.deepEqual([windows, ...windows.overflowing].map((w) => w.tokens.slice(1, -1).join("")), ["aĠbĠcĠd", "ĠdĠeĠfĠg", "ĠgĠh"]);
    assert.deepEqual(windows.overflowing[0].offsets[1], [6, 7], "a window's first token is trimmed too");
  });

  it("megabyte texts in linear time", () => {
    const sentence = "The quick brown fox jumps over the lazy dog, naïvely — 中文 😀. ";
    for (const [text, what] of [
      [sentence.repeat(Math.ceil(3_000_000 / sentence.length)), "3 MB of sentences"],
      ["a".repeat(2_000_000), "one 2 MB word"],
      ["漢".repeat(500_000), "one word of 500k CJK chars (1.5 MB of bytes)"],
      [" ".repeat(1_000_000), "1 MB of spaces"],
      ["!".repeat(1_000_000), "1 MB of punctuation"],
      ["e\u0301".repeat(500_000), "1 MB of combining marks"],
      ["\ud800".repeat(500_000), "500k lone surrogates"],
    ] as const) {
      for (const tok of [fast, slow]) {
        const e = tok.encode(text, null, { truncation: true, maxLength: 512 });
        assert.ok(e.inputIds.length <= 512 && e.inputIds.length >= 3, what);
        // Linear: the whole text costs about as much CPU as 8 runs on an eighth of it (no time limit).
        assertLinear(what, (n) => text.slice(0, n), (s) => tok.encode(s, null, { truncation: true, maxLength: 512 }), text.length);
      }
    }
  });

  it("fuzz: 500 seeded random texts never throw, are deterministic, keep offsets in range, decode back", async () => {
    const fresh = await RobertaTokenizer.fromPretrained(modelPath(MODEL), { source: "vocab.json" });
    const next = rng(20240811);
    const texts = Array.from({ length: 500 }, () => randomText(next));
    const first = texts.map((t, i) => slow.encode(t, i % 5 === 0 ? texts[(i + 1) % texts.length] : null));
    texts.forEach((t, i) => {
      const pair = i % 5 === 0 ? texts[(i + 1) % texts.length] : null;
      const label = `#${i} ${JSON.stringify(t)}`;
      assert.deepEqual(slow.encode(t, pair), first[i], `${label}: deterministic (cache warm)`);
      assert.deepEqual(fresh.encode(t, pair), first[i], `${label}: deterministic (other instance)`);
      assert.deepEqual(fast.encode(t, pair), first[i], `${label}: tokenizer.json agrees`);
      checkOffsets(first[i], pair === null ? [t] : [t, pair], label);
      assert.equal(slow.tokenize(t).length, slow.encode(t).inputIds.length - 2, label);
      // Decoding gives the text back, unless it spells special tokens (skipped; <mask> also swallows spaces).
      if (!/<\/?s>|<pad>|<unk>|<mask>/.test(t)) assert.equal(slow.decode(slow.encode(t).inputIds, { skipSpecialTokens: true }), wellFormed(t), label);
      const cut = slow.encode(t, pair, { truncation: true, maxLength: 8, padding: "max_length" });
      assert.equal(cut.inputIds.length, 8, `${label}: truncated and padded to 8`);
    });
  });
});
