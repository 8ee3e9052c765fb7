/**
 * The native WordPiece word loop (native/src/napi/wordpiece.cc, attached by
 * pipelines/word-piece-acceleration.ts) against the JavaScript path: for every WordPiece tokenizer
 * folder of ../shared/models and each source it has, encodeIds() with the native loop must give
 * encode()'s ids (encode() always runs the JavaScript pre-tokenizer and WordPiece) and the golden
 * files' ids, on the golden inputs, the whole corpus and generated edge cases. The loop takes ASCII
 * text only: the test also counts that it answered for ASCII segments and declined the others.
 */
import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { getBackend, wordPieceAcceleratorFor, type Backend } from "../../src/backend/index.js";
import { loadNativeAddon } from "../../src/backend/native.js";
import { parseVocabTxt } from "../../src/tokenizers/models/index.js";
import { BertTokenizer, loadTokenizer, type Tokenizer } from "../../src/tokenizers/index.js";
import { accelerateWordPiece } from "../../src/pipelines/word-piece-acceleration.js";
import { CORPUS_FILE, GOLDEN_DIR, MODELS_DIR } from "../helpers/paths.js";
import { mulberry32, randomText } from "../helpers/random.js";

const addon = loadNativeAddon();
const noNative = addon.addon === undefined ? `native addon not loaded: ${addon.reason}` : typeof addon.addon.WordPieceTable !== "function" ? "this addon build has no WordPieceTable" : false;
const backend: Backend | undefined = noNative === false ? getBackend("native") : undefined;

const folders = existsSync(MODELS_DIR) ? readdirSync(MODELS_DIR).filter((d) => existsSync(join(MODELS_DIR, d, "config.json"))) : [];

/** Counts the native loop's answers and refusals. */
interface Counted {
  answered: number;
  declined: number;
}

/** Attaches the native loop to tok through a counter; null when tok's pipeline is not BERT's WordPiece. */
function accelerate(tok: Tokenizer): Counted | null {
  if (!(tok instanceof BertTokenizer) || backend === undefined) return null;
  const spec = tok.wordPieceTableSpec();
  if (spec === null) return null;
  const table = wordPieceAcceleratorFor(backend, spec);
  assert.ok(table !== undefined, "the native backend offers a WordPiece table");
  const counted: Counted = { answered: 0, declined: 0 };
  tok.useWordPieceAccelerator({
    ids(text) {
      const ids = table.ids(text);
      if (ids === null) counted.declined++;
      else counted.answered++;
      return ids;
    },
  });
  return counted;
}

function checkSame(tok: Tokenizer, texts: readonly string[], label: string): void {
  for (const text of texts) {
    const expected = tok.encode(text, null, { addSpecialTokens: false }).inputIds;
    const got = tok.encodeIds(text, null, { addSpecialTokens: false }).inputIds;
    assert.deepEqual(got, expected, `${label} ${JSON.stringify(text.slice(0, 60))}`);
  }
}

const CONTROLS = Array.from({ length: 32 }, (_, c) => String.fromCharCode(c)).concat(["\x7f"]);
const PUNCT = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".split("");
const LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789".split("");
const SPACES = [" ", " ", " ", "\t", "\n", "\r"];

function edgeCases(tok: Tokenizer): string[] {
  const vocabWords = ["the", "un", "##able", "license", "software", "[MASK]", "[CLS]", "[SEP]", "[UNK]", "<mask>", "<unk>", "<s>", "</s>"];
  const texts = [
    "",
    " ",
    " \t\n\r  ",
    "...!!!???;;;---",
    "a.b,c;d:e!f?g(h)i[j]k{l}m<n>o/p\\q|r~s`t'u\"v",
    "tab\tnew\nline\rreturn",
    "nul\x00in the middle and del\x7f too, bell\x07, \x0b vt, \x0c ff, \x1c fs \x1f us",
    "[CL\x01S] [SE\x00P] x[MASK]y [MASK]ed [mask] [Mask] <mask> <MASK> <unk> <UNK>",
    "[MASK]",
    " [MASK] ",
    "a".repeat(100) + " " + "a".repeat(101) + " " + "ab".repeat(60),
    "x".repeat(500),
    "internationalization counterrevolutionaries electroencephalographically pneumonoultramicroscopicsilicovolcanoconiosis",
    "qzxjqv zzzzqqqq xqxqxq jjjkkk",
    "Hello World UPPER lower MiXeD CamelCaseWord ALLCAPS",
    "don't won't it's e-mail U.S.A. #hashtag @mention http://example.com/a?b=c&d=e 3.14159 1,000,000",
    "mixed ASCII and café naïve",
    "ascii then 中文 then ascii",
    "emoji 😀 in ascii",
    "zero\u200bwidth",
    "a\u0301 combining",
    "\u00a0nbsp",
  ];
  const next = mulberry32(0x5eed);
  const pools = [LETTERS, PUNCT, SPACES, CONTROLS, vocabWords];
  for (let i = 0; i < 300; i++) texts.push(randomText(next, pools, 80));
  for (let i = 0; i < 50; i++) texts.push(randomText(next, [LETTERS, LETTERS, LETTERS, SPACES], 400));
  return texts;
}

describe("the native WordPiece loop gives encode()'s ids", { skip: noNative || (folders.length === 0 ? `no models in ${MODELS_DIR}` : false) }, () => {
  const corpus = existsSync(CORPUS_FILE) ? readFileSync(CORPUS_FILE, "utf8").split("\n").filter((l) => l.length > 0) : [];
  for (const name of folders) {
    const dir = join(MODELS_DIR, name);
    const sources: ("auto" | "tokenizer.json")[] = ["auto", ...(existsSync(join(dir, "tokenizer.json")) ? (["tokenizer.json"] as const) : [])];
    for (const source of sources) {
      it(`${name} (${source}): edge cases, golden inputs, corpus`, async () => {
        const tok = await loadTokenizer(dir, source === "auto" ? {} : { source });
        const counted = accelerate(tok);
        if (counted === null) {
          // Not BERT's pipeline (BPE, Unigram): no native loop may be attached.
          assert.ok(!(tok instanceof BertTokenizer) || tok.wordPieceTableSpec() === null);
          assert.equal(accelerateWordPiece(tok, backend as Backend), false);
          return;
        }
        const label = `${name} (${source})`;
        checkSame(tok, edgeCases(tok), `${label} edge case`);
        assert.ok(counted.answered > 300, `${label}: the native loop answered ${counted.answered} times`);
        // Accents are stripped before the loop (normalization stays in JS), but CJK and emoji stay non-ASCII.
        assert.ok(counted.declined >= 2, `${label}: the native loop declined non-ASCII ${counted.declined} times`);

        const goldenFile = join(GOLDEN_DIR, `${name}.json`);
        if (existsSync(goldenFile)) {
          const golden = JSON.parse(readFileSync(goldenFile, "utf8"));
          for (const [k, x] of golden.inputs.entries()) {
            const [a, b]: [string, string | null] = x.is_pair ? x.input : [x.input, null];
            const ids = tok.encodeIds(a, b, { truncation: "longest_first", maxLength: 512 });
            assert.deepEqual(ids.inputIds, x.input_ids, `${label} golden input ${k} input_ids`);
            assert.deepEqual(ids.inputIds, tok.encode(a, b, { truncation: "longest_first", maxLength: 512 }).inputIds, `${label} golden input ${k} vs encode()`);
          }
        }
        const before = counted.answered;
        checkSame(tok, corpus, `${label} corpus`);
        if (corpus.length > 0) assert.ok(counted.answered - before > corpus.length / 2, `${label}: most corpus lines went native`);
      });
    }
  }
});

describe("the native WordPiece loop under other vocab.txt settings", { skip: noNative || (folders.length === 0 ? `no models in ${MODELS_DIR}` : false) }, () => {
  const vocabFolder = folders.find((d) => existsSync(join(MODELS_DIR, d, "vocab.txt")) && !d.includes("chinese"));
  const settings = [
    { do_lower_case: false },
    { do_lower_case: true, never_split: ["hello", "qzxj", "un##able"] },
    { do_lower_case: false, never_split: ["Hello", "[weird]"], strip_accents: false },
  ];
  for (const tokenizerConfig of settings) {
    it(`${vocabFolder} with ${JSON.stringify(tokenizerConfig)}`, { skip: vocabFolder === undefined ? "no vocab.txt folder" : false }, () => {
      const vocab = parseVocabTxt(readFileSync(join(MODELS_DIR, vocabFolder as string, "vocab.txt"), "utf8"));
      const tok = BertTokenizer.fromVocab(vocab, { tokenizerConfig });
      const counted = accelerate(tok);
      assert.ok(counted !== null);
      const texts = [...edgeCases(tok), "hello Hello HELLO qzxj Qzxj [weird] x[weird] un##able", "[weird]", "hello"];
      checkSame(tok, texts, JSON.stringify(tokenizerConfig));
      assert.ok(counted.answered > 300 && counted.declined >= 2, JSON.stringify(counted));
    });
  }
});

describe("the native WordPiece loop is attached only where it applies", () => {
  it("not without a native backend, nor with BERT_TS_NATIVE_TOKENIZER=0", { skip: noNative || (folders.length === 0 ? "no models" : false) }, async () => {
    const name = folders.find((d) => existsSync(join(MODELS_DIR, d, "tokenizer.json")) && existsSync(join(MODELS_DIR, d, "vocab.txt")));
    assert.ok(name !== undefined);
    const tok = await loadTokenizer(join(MODELS_DIR, name));
    assert.equal(accelerateWordPiece(tok, getBackend("reference")), false);
    const saved = process.env.BERT_TS_NATIVE_TOKENIZER;
    process.env.BERT_TS_NATIVE_TOKENIZER = "0";
    try {
      assert.equal(accelerateWordPiece(tok, backend as Backend), false);
    } finally {
      if (saved === undefined) delete process.env.BERT_TS_NATIVE_TOKENIZER;
      else process.env.BERT_TS_NATIVE_TOKENIZER = saved;
    }
    assert.equal(accelerateWordPiece(tok, backend as Backend), true);
  });
});
