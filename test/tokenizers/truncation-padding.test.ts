/**
 * Truncation, padding and overflow windows on a hand-made vocabulary, with expectations worked out
 * by hand from transformers' rules (not recorded from our output).
 * Vocabulary ids: [PAD]=0 [UNK]=1 [CLS]=2 [SEP]=3 hello=4 world=5 the=6.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { BertTokenizer } from "../../src/tokenizers/index.js";
import { parseVocabTxt } from "../../src/tokenizers/models/index.js";

const tok = BertTokenizer.fromVocab(parseVocabTxt("[PAD]\n[UNK]\n[CLS]\n[SEP]\nhello\nworld\nthe\n[MASK]\n"), {
  tokenizerConfig: { model_max_length: 16 },
});
const LONG = "hello world the hello"; // 4, 5, 6, 4
const SHORT = "the world"; // 6, 5

test("no truncation unless asked; maxLength alone turns on longest_first (transformers' rule)", () => {
  assert.equal(tok.modelMaxLength, 16);
  const long = Array(20).fill("the").join(" ");
  const full = tok.encode(long);
  assert.equal(full.inputIds.length, 22);
  assert.equal(full.numTruncatedTokens, 0);
  const cut = tok.encode(LONG, null, { maxLength: 4 });
  assert.deepEqual(cut.inputIds, [2, 4, 5, 3]);
  assert.equal(cut.numTruncatedTokens, 2);
  assert.deepEqual(tok.encode(long, null, { truncation: true }).inputIds.length, 16, "true = to modelMaxLength");
});

test("longest_first on pairs: even out the lengths, then split the rest", () => {
  // 4 + 2 + 3 specials = 9. maxLength 7: remove 2, both from the longer first sequence.
  let e = tok.encode(LONG, SHORT, { truncation: "longest_first", maxLength: 7 });
  assert.deepEqual(e.inputIds, [2, 4, 5, 3, 6, 5, 3]);
  assert.deepEqual(e.tokenTypeIds, [0, 0, 0, 0, 1, 1, 1]);
  assert.equal(e.numTruncatedTokens, 2);
  // maxLength 6: remove 3; 2 even the lengths, the last one comes off the second (lengths now equal).
  e = tok.encode(LONG, SHORT, { truncation: "longest_first", maxLength: 6 });
  assert.deepEqual(e.inputIds, [2, 4, 5, 3, 6, 3]);
  assert.equal(e.numTruncatedTokens, 3);
  // Equal lengths 2 + 2, remove 1: it comes off the second.
  e = tok.encode("hello world", SHORT, { truncation: true, maxLength: 6 });
  assert.deepEqual(e.inputIds, [2, 4, 5, 3, 6, 3]);
});

test("only_first / only_second, and clear errors when impossible", () => {
  assert.deepEqual(tok.encode(LONG, SHORT, { truncation: "only_first", maxLength: 7 }).inputIds, [2, 4, 5, 3, 6, 5, 3]);
  assert.deepEqual(tok.encode(SHORT, LONG, { truncation: "only_second", maxLength: 7 }).inputIds, [2, 6, 5, 3, 4, 5, 3]);
  assert.throws(() => tok.encode(LONG, SHORT, { truncation: "only_second", maxLength: 7 }), /second sequence has only 2/);
  assert.throws(() => tok.encode(LONG, null, { truncation: "only_second", maxLength: 3 }), /needs a pair/);
  assert.throws(() => tok.encode(LONG, null, { truncation: true, maxLength: 1 }), /Cannot truncate/);
  assert.throws(() => tok.encode(LONG, null, { maxLength: 0 }), /Expected an integer >= 1 for maxLength/);
  // Exactly the special tokens: an empty sequence is fine.
  assert.deepEqual(tok.encode(LONG, null, { truncation: true, maxLength: 2 }).inputIds, [2, 3]);
});

test("overflow windows over one long text, with stride", () => {
  // Room for 2 tokens a window, stride 1 → step 1: [hello world] [world the] [the hello].
  const e = tok.encode(LONG, null, { truncation: true, maxLength: 4, stride: 1, returnOverflowingTokens: true });
  assert.deepEqual(e.inputIds, [2, 4, 5, 3]);
  assert.deepEqual(e.overflowing.map((o) => o.inputIds), [[2, 5, 6, 3], [2, 6, 4, 3]]);
  assert.deepEqual(e.overflowing[1].offsets, [[0, 0], [12, 15], [16, 21], [0, 0]], "offsets still index the original text");
  assert.equal(e.numTruncatedTokens, 2);
  // No stride: windows do not overlap; the last one is shorter.
  const f = tok.encode("hello world the", null, { maxLength: 4, returnOverflowingTokens: true });
  assert.deepEqual([f.inputIds, ...f.overflowing.map((o) => o.inputIds)], [[2, 4, 5, 3], [2, 6, 3]]);
  assert.throws(() => tok.encode(LONG, null, { maxLength: 4, stride: 2, returnOverflowingTokens: true }), /stride \(2\) must be smaller/);
});

test("overflow on a pair windows the second text (question + context)", () => {
  // "the" + 3 specials leaves 2 of maxLength 6 for the context; stride 0.
  const e = tok.encode("the", LONG, { truncation: "only_second", maxLength: 6, returnOverflowingTokens: true });
  assert.deepEqual(e.inputIds, [2, 6, 3, 4, 5, 3]);
  assert.deepEqual(e.tokenTypeIds, [0, 0, 0, 1, 1, 1]);
  assert.deepEqual(e.overflowing.map((o) => o.inputIds), [[2, 6, 3, 6, 4, 3]]);
  assert.deepEqual(e.overflowing[0].sequenceIds, [null, 0, null, 1, 1, null]);
  assert.deepEqual(e.overflowing[0].offsets, [[0, 0], [0, 3], [0, 0], [12, 15], [16, 21], [0, 0]]);
  // With padding every window comes out the same length.
  const p = tok.encode("the", "hello world the", { truncation: true, maxLength: 6, returnOverflowingTokens: true, padding: "max_length" });
  assert.deepEqual(p.overflowing[0].inputIds, [2, 6, 3, 6, 3, 0]);
  assert.throws(() => tok.encode(LONG, LONG, { maxLength: 6, returnOverflowingTokens: true }), /no room/);
});

test("padding: max_length, longest over a batch, multiple of", () => {
  const e = tok.encode("hello", null, { padding: "max_length", maxLength: 6 });
  assert.deepEqual(e.inputIds, [2, 4, 3, 0, 0, 0]);
  assert.deepEqual(e.attentionMask, [1, 1, 1, 0, 0, 0]);
  assert.deepEqual(e.specialTokensMask, [1, 0, 1, 1, 1, 1]);
  assert.deepEqual(e.tokens, ["[CLS]", "hello", "[SEP]", "[PAD]", "[PAD]", "[PAD]"]);
  assert.deepEqual(e.wordIds, [null, 0, null, null, null, null]);
  const batch = tok.encodeBatch(["hello", ["hello world", "the"]], { padding: "longest" });
  assert.deepEqual(batch.map((b) => b.inputIds), [
    [2, 4, 3, 0, 0, 0],
    [2, 4, 5, 3, 6, 3],
  ]);
  assert.deepEqual(batch[1].tokenTypeIds, [0, 0, 0, 0, 1, 1]);
  const multiple = tok.encodeBatch(["hello", "hello world"], { padding: true, padToMultipleOf: 8 });
  assert.deepEqual(multiple.map((b) => b.inputIds.length), [8, 8]);
  assert.deepEqual(tok.encode("hello", null, { padding: "longest" }).inputIds, [2, 4, 3], "longest of one: no padding");
});

test("without special tokens a pair keeps its token types (template semantics)", () => {
  const e = tok.encode("hello", "world", { addSpecialTokens: false });
  assert.deepEqual(e.inputIds, [4, 5]);
  assert.deepEqual(e.tokenTypeIds, [0, 1]);
  assert.deepEqual(e.specialTokensMask, [0, 0]);
});

test("bad arguments are clear errors", () => {
  assert.throws(() => tok.encode(42 as unknown as string), /Expected a string for text but received number 42/);
  assert.throws(() => tok.encodeBatch(["a", ["b"] as unknown as [string, string]]), /inputs\[1\]/);
  assert.throws(() => tok.encode("a", null, { padding: "wide" as unknown as "longest" }), /padding/);
  assert.throws(() => tok.decode([1.5]), /integer token ids/);
});
