/**
 * Seeded random texts (mixed scripts, punctuation, emoji, combining marks, control characters,
 * lone surrogates): encoding never throws, is deterministic, and offsets stay in range and in order.
 * Also: multi-megabyte inputs run in linear time.
 */
import { assertLinear } from "../helpers/scaling.js";
import assert from "node:assert/strict";
import { test } from "node:test";
import { BertTokenizer, type Encoding, type Tokenizer } from "../../src/tokenizers/index.js";
import { modelPath, skipUnlessModel } from "../helpers/paths.js";
import { mulberry32 as rng, randomText as randomTextFrom } from "../helpers/random.js";


const POOLS: string[][] = [
  [..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"],
  [..." \t\n\r  "],
  [..."!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~¿¡«»—–…‘’“”"],
  [..."éÉàçñøßÆİıΣσςΟΔŁ"],
  ["\u0301", "\u0308", "\u0327", "\u20dd", "\u0345"],
  [..."中文字漢語日本語한국어ひらがなカタカナ\u3000"],
  ["😀", "👍🏽", "🇫🇷", "👩‍👩‍👧", "\u{20000}", "\u{2F800}"],
  ["\u0000", "\u0007", "\u007f", "\u0085", "\u200b", "\ufeff", "\u00ad", "\ufffd", "\u2028", "\ue000", "\u0378"],
  ["\ud800", "\udbff", "\udc00", "\udfff"],
  [..."مرحبانمस्तेСлово"],
  ["[MASK]", "[CLS]", "[SEP]", "[PAD]", "[UNK]", "[mask]", "##", "[CL\u200bS]"],
];

const randomText = (next: () => number): string => randomTextFrom(next, POOLS, 160);

function checkOffsets(e: Encoding, texts: string[], label: string): void {
  let last = [-1, -1];
  let lastSeq: number | null = null;
  e.offsets.forEach(([s, t], k) => {
    const seq = e.sequenceIds[k];
    if (seq === null) return assert.deepEqual([s, t], [0, 0], label);
    if (seq !== lastSeq) last = [-1, -1];
    lastSeq = seq;
    assert.ok(Number.isInteger(s) && Number.isInteger(t) && 0 <= s && s < t && t <= texts[seq].length, `${label}: offset ${k} [${s}, ${t}]`);
    assert.ok(s >= last[0] && t >= last[1], `${label}: offsets monotone at ${k}`);
    last = [s, t];
  });
}

const MODEL = "minilm-l6-h384-random";

test("fuzz: 400 seeded random texts, both loaders", { skip: skipUnlessModel(MODEL) }, async () => {
  const tokenizers: [string, Tokenizer, Tokenizer][] = [];
  for (const source of ["vocab.txt", "tokenizer.json"] as const) {
    tokenizers.push([
      source,
      await BertTokenizer.fromPretrained(modelPath(MODEL), { source }),
      await BertTokenizer.fromPretrained(modelPath(MODEL), { source }),
    ]);
  }
  const next = rng(20240611);
  const texts = Array.from({ length: 400 }, () => randomText(next));
  for (const [source, tok, fresh] of tokenizers) {
    const first = texts.map((t, i) => tok.encode(t, i % 5 === 0 ? texts[(i + 1) % texts.length] : null));
    texts.forEach((t, i) => {
      const pair = i % 5 === 0 ? texts[(i + 1) % texts.length] : null;
      const label = `${source} #${i} ${JSON.stringify(t)}`;
      const again = tok.encode(t, pair);
      assert.deepEqual(again, first[i], `${label}: deterministic (cache warm)`);
      assert.deepEqual(fresh.encode(t, pair), first[i], `${label}: deterministic (other instance)`);
      checkOffsets(first[i], pair === null ? [t] : [t, pair], label);
      assert.equal(tok.tokenize(t).length, tok.encode(t).inputIds.length - 2, label);
      assert.equal(typeof tok.decode(first[i].inputIds), "string");
      const cut = tok.encode(t, pair, { truncation: true, maxLength: 8, padding: "max_length" });
      assert.equal(cut.inputIds.length, 8, `${label}: truncated and padded to 8`);
    });
  }
});

test("multi-megabyte inputs: linear time, no stack or regex blow-up", { skip: skipUnlessModel(MODEL) }, async () => {
  const tok = await BertTokenizer.fromPretrained(modelPath(MODEL));
  const slow = await BertTokenizer.fromPretrained(modelPath(MODEL), { source: "vocab.txt" });
  const sentence = "The quick brown fox jumps over the lazy dog, naïvely — 中文 😀. ";
  const big = sentence.repeat(Math.ceil(3_000_000 / sentence.length)); // ~3 MB
  for (const [text, what] of [
    [big, "3 MB of sentences"],
    ["a".repeat(2_000_000), "one 2 MB word"],
    ["!".repeat(1_000_000), "1 MB of punctuation"],
    ["e\u0301".repeat(500_000), "1 MB of combining marks"],
  ] as const) {
    for (const t of [tok, slow]) {
      const e = t.encode(text, null, { truncation: true, maxLength: 512 });
      assert.equal(e.inputIds.length, 512 > e.inputIds.length ? e.inputIds.length : 512);
      // Linear: the whole text costs about as much CPU as 8 runs on an eighth of it (no time limit).
      assertLinear(what, (n) => text.slice(0, n), (s) => t.encode(s, null, { truncation: true, maxLength: 512 }), text.length);
    }
  }
  assert.deepEqual(tok.tokenize("a".repeat(2_000_000)), ["[UNK]"]);
});
