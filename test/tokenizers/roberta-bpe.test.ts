/**
 * The byte-level BPE stages one by one: the byte ↔ char table, the GPT-2 pattern scanner (a table
 * of splits made with Python's `regex` module), BPE merging against a naive reference written the
 * way transformers' slow tokenizer does it (all occurrences of the best pair, left to right, per
 * round) on short and very long words, merges parsing, and the decoder's UTF-8 repair.
 */
import { assertLinear } from "../helpers/scaling.js";
import assert from "node:assert/strict";
import { describe, it, before } from "node:test";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { BYTE_TO_CHAR, charToByte } from "../../src/tokenizers/byte-to-unicode.js";
import { ByteLevelDecoder } from "../../src/tokenizers/decoders/index.js";
import { Bpe, parseMerges, splitMerge, vocabFromObject } from "../../src/tokenizers/models/index.js";
import { ByteLevelPreTokenizer, WordSpans } from "../../src/tokenizers/pre-tokenizers/index.js";
import { nextWordEnd } from "../../src/tokenizers/pre-tokenizers/byte-level.js";
import { modelPath, skipUnlessModel } from "../helpers/paths.js";

function split(text: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < text.length; ) {
    const end = nextWordEnd(text, i, text.length);
    out.push(text.slice(i, end));
    i = end;
  }
  return out;
}

describe("byte ↔ char table", () => {
  it("maps the 256 bytes to 256 distinct printable chars, and back", () => {
    assert.equal(new Set(BYTE_TO_CHAR).size, 256);
    assert.equal(String.fromCharCode(BYTE_TO_CHAR[0x20]), "Ġ");
    assert.equal(String.fromCharCode(BYTE_TO_CHAR[0x0a]), "Ċ");
    assert.equal(String.fromCharCode(BYTE_TO_CHAR[0x41]), "A");
    assert.equal(String.fromCharCode(BYTE_TO_CHAR[0xa0]), "ł");
    for (let b = 0; b < 256; b++) assert.equal(charToByte(BYTE_TO_CHAR[b]), b);
    assert.equal(charToByte("€".charCodeAt(0)), -1);
  });
});

describe("GPT-2 pattern scanner", () => {
  // Expected splits from Python: regex.findall(GPT-2 pattern, text).
  const CASES: [string, string[]][] = [
    ["Hello  world", ["Hello", " ", " world"]],
    ["a\n\nb", ["a", "\n", "\n", "b"]],
    ["I'm don't we'll they'RE", ["I", "'m", " don", "'t", " we", "'ll", " they", "'", "RE"]],
    ["   ", ["   "]],
    [" 42nd", [" 42", "nd"]],
    ["x!!! ?? y", ["x", "!!!", " ??", " y"]],
    ["tab\tword \t\tend  ", ["tab", "\t", "word", " \t", "\t", "end", "  "]],
    ["'''s", ["'''", "s"]],
    ["naïve café", ["naïve", " café"]],
    ["😀😀 hi", ["😀😀", " hi"]],
    // \s is White_Space: NEL yes, BOM and U+001C no.
    ["a\u0085b\ufeffc\u001cd", ["a", "\u0085", "b", "\ufeff", "c", "\u001c", "d"]],
    ["", []],
  ];
  for (const [text, expected] of CASES) {
    it(`splits ${JSON.stringify(text)}`, () => assert.deepEqual(split(text), expected));
  }

  it("keeps lone surrogates as their own chars and is linear on long runs", () => {
    assert.deepEqual(split("a\ud800b\udc00"), ["a", "\ud800", "b", "\udc00"]);
    assert.deepEqual(split(" ".repeat(1_000_000) + "x").length, 2);
    assert.equal(split("'".repeat(1_000_000)).length, 1);
    assertLinear("a run of spaces", (n) => " ".repeat(n) + "x", split, 1_000_000);
    assertLinear("a run of apostrophes", (n) => "'".repeat(n), split, 1_000_000);
  });

  it("rewrites bytes as chars, aligned to the original code units", () => {
    const pre = new ByteLevelPreTokenizer();
    const spans = new WordSpans();
    pre.preTokenize("é 😀\ud800", 0, 5, spans);
    const words = Array.from({ length: spans.count }, (_, i) => spans.rewritten![i]!);
    // The emoji and the lone surrogate (encoded as U+FFFD) are both "other": one run.
    assert.deepEqual(words.map((w) => w.text), ["Ã©", "ĠðŁĺĢï¿½"]);
    assert.deepEqual(Array.from(words[1].starts!), [0, 1, 1, 1, 1, 3, 3, 3]);
    assert.deepEqual(Array.from(words[1].ends!), [1, 3, 3, 3, 3, 4, 4, 4]);
  });

  it("add_prefix_space puts a space before a segment that lacks one (aligned to its first char)", () => {
    const pre = new ByteLevelPreTokenizer({ addPrefixSpace: true });
    const spans = new WordSpans();
    pre.preTokenize("Hi there", 0, 8, spans);
    assert.deepEqual([spans.rewritten![0]!.text, spans.rewritten![1]!.text], ["ĠHi", "Ġthere"]);
    assert.deepEqual([spans.starts[0], spans.ends[0]], [0, 2]);
    spans.clear();
    pre.preTokenize("\tx", 0, 2, spans); // tokenizers: only " " counts as already prefixed
    assert.deepEqual(Array.from({ length: spans.count }, (_, i) => spans.rewritten![i]!.text), ["Ġ", "ĉ", "x"]);
  });
});

/** transformers' slow BPE: merge every occurrence of the lowest-ranked pair, left to right, per round. */
function naiveBpe(word: string, ranks: Map<string, number>): string[] {
  let parts = [...word];
  for (;;) {
    let best: string | null = null;
    let bestRank = Infinity;
    for (let i = 0; i + 1 < parts.length; i++) {
      const r = ranks.get(parts[i] + " " + parts[i + 1]);
      if (r !== undefined && r < bestRank) {
        bestRank = r;
        best = parts[i] + " " + parts[i + 1];
      }
    }
    if (best === null) return parts;
    const [a, b] = best.split(" ");
    const merged: string[] = [];
    for (let i = 0; i < parts.length; i++) {
      if (i + 1 < parts.length && parts[i] === a && parts[i + 1] === b) {
        merged.push(a + b);
        i++;
      } else merged.push(parts[i]);
    }
    parts = merged;
  }
}

describe("BPE merging", { skip: skipUnlessModel("roberta-micro-random") }, () => {
  let bpe: Bpe;
  let ranks: Map<string, number>;
  before(async () => {
    const dir = modelPath("roberta-micro-random");
    const vocab = vocabFromObject(JSON.parse(await readFile(join(dir, "vocab.json"), "utf8")), "vocab.json");
    const merges = parseMerges(await readFile(join(dir, "merges.txt"), "utf8"));
    assert.equal(merges.length, 50000);
    ranks = new Map(merges.map(([a, b], r) => [a + " " + b, r]));
    bpe = new Bpe(vocab, merges, { unkToken: "<unk>", fuseUnk: false, ignoreMerges: false });
  });

  it("agrees with the naive reference on short words and on words long enough for the heap", () => {
    let seed = 12345;
    const next = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const letters = "etaoinshrdlucmfwypvbgkqjxzĠĠĠÃ©";
    for (let k = 0; k < 600; k++) {
      const len = 1 + Math.floor(next() * (k < 300 ? 20 : 400));
      let word = "";
      for (let i = 0; i < len; i++) word += letters[Math.floor(next() * letters.length)];
      const pieces = bpe.tokenizeWord(word);
      const tokens = pieces.ids.map((id) => bpe.idToToken(id));
      assert.deepEqual(tokens, naiveBpe(word, ranks), `word ${JSON.stringify(word)}`);
      assert.equal(pieces.ends[pieces.ends.length - 1], word.length);
      assert.equal(tokens.join(""), word);
    }
  });

  it("merges a 1 MB word in near-linear time (heap, not quadratic)", () => {
    const word = "ab".repeat(500_000);
    const pieces = bpe.tokenizeWord(word);
    assert.equal(pieces.ends[pieces.ends.length - 1], word.length);
    // n log n: 1/8-size pieces cost a little less each; a quadratic merge would cost 8 times as much.
    assertLinear("BPE on one long word", (n) => "ab".repeat(n / 2), (w) => bpe.tokenizeWord(w), 1_000_000, 8, 4);
  });
});

describe("BPE on a tiny vocabulary", () => {
  const vocab = vocabFromObject({ a: 0, b: 1, ab: 2, abab: 3, "<unk>": 4, c: 5 }, "test");
  it("merges by rank, leftmost first; unknown chars become <unk> (fused on request) or are dropped", () => {
    const merges: [string, string][] = [["a", "b"], ["ab", "ab"]];
    const bpe = new Bpe(vocab, merges, { unkToken: "<unk>", fuseUnk: false, ignoreMerges: false });
    assert.deepEqual(bpe.tokenizeWord("ababab").ids, [3, 2]);
    assert.deepEqual(bpe.tokenizeWord("xxab").ids, [4, 4, 2]);
    assert.deepEqual(new Bpe(vocab, merges, { unkToken: "<unk>", fuseUnk: true, ignoreMerges: false }).tokenizeWord("xxab"), { ids: [4, 2], ends: [2, 4] });
    assert.deepEqual(new Bpe(vocab, merges, { unkToken: null, fuseUnk: false, ignoreMerges: false }).tokenizeWord("abx"), { ids: [2], ends: [3] });
  });

  it("reads merges.txt (header skipped) and both tokenizer.json merge forms", () => {
    assert.deepEqual(parseMerges("#version: 0.2\nĠ t\nh e\n"), [["Ġ", "t"], ["h", "e"]]);
    assert.deepEqual(splitMerge(["a b", "c"], "x"), ["a b", "c"]);
    assert.throws(() => parseMerges("#version: 0.2\nabc\n", "m.txt"), /m\.txt line 2/);
  });
});

describe("byte-level decoder", () => {
  const dec = new ByteLevelDecoder();
  it("turns byte chars back into UTF-8 text, repairing invalid sequences with U+FFFD as Python does", () => {
    assert.equal(dec.decode(["Hello", "Ġworld", "ĠðŁ", "į", "ķ"]), "Hello world 🍕");
    assert.equal(dec.decode(["ĠðŁ"]), " \ufffd"); // truncated sequence: one U+FFFD
    assert.equal(dec.decode(["íł", "Ģ"]), "\ufffd\ufffd\ufffd"); // ED A0 80 (a surrogate): three
    assert.equal(dec.decode(["ï»¿", "x"]), "\ufeffx"); // a BOM is kept
    assert.equal(dec.decode(["<s>", "h€llo"]), "<s>h€llo"); // "€" is outside the table: the token's own UTF-8
  });
});
