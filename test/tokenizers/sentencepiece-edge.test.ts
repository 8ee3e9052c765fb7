/**
 * SentencePiece tokenizers: hand-worked cases (fairseq ids, pair layouts, mask lstrip, offsets,
 * truncation and overflow windows) and bad input (truncated or corrupt .model files, unknown
 * tokenizer.json stages), which must fail with errors naming the file and the field.
 */
import assert from "node:assert/strict";
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, it } from "node:test";
import { parseSentencePieceModel, readSentencePieceModel } from "../../src/io/sentencepiece-model.js";
import { loadTokenizer } from "../../src/tokenizers/index.js";
import { modelPath, skipUnlessModel } from "../helpers/paths.js";

const XLMR = "xlm-roberta-micro-random";
const ALBERT = "albert-micro-random";

describe("XLM-R (.model) hand-worked cases", { skip: skipUnlessModel(XLMR) }, () => {
  it("fairseq ids: piece i of the file is id i + 1; offsets point into the text", async () => {
    const tok = await loadTokenizer(modelPath(XLMR));
    const proto = await readSentencePieceModel(join(modelPath(XLMR), "sentencepiece.bpe.model"));
    const enc = tok.encode("Hello world");
    assert.deepEqual(enc.tokens, ["<s>", "▁Hello", "▁world", "</s>"]);
    assert.deepEqual(enc.inputIds, [0, 9771, 18906, 2]);
    // The file's own ids of the two pieces, plus one.
    const fileId = (p: string) => proto.pieces.findIndex((x) => x.piece === p);
    assert.deepEqual(enc.inputIds, [0, fileId("▁Hello") + 1, fileId("▁world") + 1, 2]);
    // "▁Hello" covers "Hello"; "▁world" covers the space that became its "▁" and "world".
    assert.deepEqual(enc.offsets, [[0, 0], [0, 5], [5, 11], [0, 0]]);
    assert.deepEqual(tok.encode("  Hello   world  ").offsets, [[0, 0], [0, 7], [7, 15], [0, 0]]);
  });

  it("pairs: <s> A </s></s> B </s>, all type 0; <mask> swallows the space before it", async () => {
    const tok = await loadTokenizer(modelPath(XLMR));
    const enc = tok.encode("Hello", "world");
    assert.deepEqual(enc.inputIds, [0, 9771, 2, 2, 18906, 2]);
    assert.deepEqual(enc.tokens, ["<s>", "▁Hello", "</s>", "</s>", "▁world", "</s>"]);
    assert.deepEqual(enc.tokenTypeIds, [0, 0, 0, 0, 0, 0]);
    assert.deepEqual(enc.specialTokensMask, [1, 0, 1, 1, 0, 1]);
    assert.deepEqual(enc.sequenceIds, [null, 0, null, null, 1, null]);
    const masked = tok.encode("Hello <mask>!");
    // Verified with the reference kit: XLMRobertaTokenizer gives [0, 9771, 32001, 80, 2] (each
    // stretch between special tokens gets its own "▁").
    assert.deepEqual(masked.tokens, ["<s>", "▁Hello", "<mask>", "▁!", "</s>"]);
    assert.deepEqual(masked.inputIds, [0, 9771, 32001, 80, 2]);
    assert.deepEqual(masked.offsets[2], [5, 12]);
  });

  it("truncation and overflow windows work as for BERT", async () => {
    const tok = await loadTokenizer(modelPath(XLMR));
    const text = "one two three four five six seven eight nine ten";
    const full = tok.encode(text);
    const cut = tok.encode(text, null, { maxLength: 6, truncation: true });
    assert.deepEqual(cut.inputIds, [...full.inputIds.slice(0, 5), 2]);
    assert.equal(cut.numTruncatedTokens, full.inputIds.length - 6);
    const windows = tok.encode(text, null, { maxLength: 6, truncation: true, returnOverflowingTokens: true, stride: 1 });
    const all = [windows, ...windows.overflowing];
    for (const w of all) {
      assert.equal(w.inputIds[0], 0);
      assert.equal(w.inputIds[w.inputIds.length - 1], 2);
    }
    // Consecutive windows share one token; together they cover every piece.
    const inner = all.map((w) => w.inputIds.slice(1, -1));
    for (let k = 1; k < inner.length; k++) assert.equal(inner[k][0], inner[k - 1][inner[k - 1].length - 1]);
    assert.deepEqual([...inner[0], ...inner.slice(1).flatMap((w) => w.slice(1))], full.inputIds.slice(1, -1));
    const padded = tok.encodeBatch(["Hello", "Hello world"], { padding: true });
    assert.deepEqual(padded[0].inputIds, [0, 9771, 2, 1]);
    assert.deepEqual(padded[0].attentionMask, [1, 1, 1, 0]);
  });
});

describe("ALBERT (.model) hand-worked cases", { skip: skipUnlessModel(ALBERT) }, () => {
  it("[CLS] A [SEP] B [SEP] with token types; lower-case, accents and extra spaces gone", async () => {
    const tok = await loadTokenizer(modelPath(ALBERT));
    const enc = tok.encode("  Déjà   VU ", "Ok");
    assert.deepEqual(enc.tokens.slice(0, 1), ["[CLS]"]);
    assert.deepEqual(tok.tokenize("  Déjà   VU "), tok.tokenize("deja vu"));
    assert.deepEqual(enc.tokenTypeIds, enc.sequenceIds.map((s, k) => (s === 1 || (s === null && k === enc.tokens.length - 1) ? 1 : 0)));
    assert.ok(tok.modelInputNames.includes("token_type_ids"));
  });

  it("a piece ending in digit + comma is split again (AlbertTokenizer._tokenize)", async () => {
    const tok = await loadTokenizer(modelPath(ALBERT));
    // The golden file's case: "3.14159," → "▁3", ".", "14", "159", ",".
    assert.deepEqual(tok.tokenize("3.14159,"), ["▁3", ".", "14", "159", ","]);
    const enc = tok.encode("3.14159,", null, { addSpecialTokens: false });
    assert.deepEqual(enc.offsets, [[0, 1], [1, 2], [2, 4], [4, 7], [7, 8]]);
  });
});

describe("bad SentencePiece input", { skip: skipUnlessModel(XLMR) }, () => {
  const modelFile = join(modelPath(XLMR), "sentencepiece.bpe.model");

  it("a truncated .model names the file and the field", () => {
    const bytes = readFileSync(modelFile);
    assert.throws(() => parseSentencePieceModel(bytes.subarray(0, 1000), "cut.model"), /^ProtobufError: cut\.model: ModelProto\.field 1: length \d+ at byte \d+ runs past the end/);
    assert.throws(() => parseSentencePieceModel(bytes.subarray(0, bytes.length - 10), "tail.model"), /tail\.model: ModelProto/);
    assert.throws(() => parseSentencePieceModel(new Uint8Array([0x0a, 0x02, 0x0a, 0x00]), "empty.model"), /empty\.model: ModelProto\.pieces\[0\]\.piece: missing or empty/);
    assert.throws(() => parseSentencePieceModel(Buffer.from("not a model at all"), "text.model"), /text\.model: ModelProto/);
  });

  it("a corrupt charsmap names the file", async () => {
    const proto = parseSentencePieceModel(readFileSync(modelFile), "x.model");
    const dir = mkdtempSync(join(tmpdir(), "bert-ts-spm-bad-"));
    try {
      for (const f of ["config.json", "tokenizer_config.json", "special_tokens_map.json"]) copyFileSync(join(modelPath(XLMR), f), join(dir, f));
      const charsmap = Buffer.from(proto.normalizer.precompiledCharsmap.subarray(0, 100)).toString("base64");
      const json = {
        model: { type: "Unigram", unk_id: 0, vocab: [["<unk>", 0], ["a", -1]] },
        normalizer: { type: "Precompiled", precompiled_charsmap: charsmap },
      };
      writeFileSync(join(dir, "tokenizer.json"), JSON.stringify(json));
      await assert.rejects(loadTokenizer(dir), /tokenizer\.json: normalizer Precompiled: precompiled_charsmap trie size \d+ does not fit/);
      writeFileSync(join(dir, "tokenizer.json"), JSON.stringify({ ...json, normalizer: { type: "Spooky" } }));
      await assert.rejects(loadTokenizer(dir), /tokenizer\.json: Unknown normalizer type: Spooky/);
      writeFileSync(join(dir, "tokenizer.json"), JSON.stringify({ ...json, normalizer: null, pre_tokenizer: { type: "Metaspace", prepend_scheme: "sometimes" } }));
      await assert.rejects(loadTokenizer(dir), /tokenizer\.json: Unknown Metaspace prepend_scheme: sometimes/);
      writeFileSync(join(dir, "tokenizer.json"), JSON.stringify({ ...json, normalizer: null, model: { type: "Unigram", unk_id: 9, vocab: [["<unk>", 0]] } }));
      await assert.rejects(loadTokenizer(dir), /tokenizer\.json: model\.unk_id 9 is not a vocabulary id/);
      writeFileSync(join(dir, "tokenizer.json"), JSON.stringify({ ...json, normalizer: null, model: { type: "Unigram", unk_id: 0, vocab: [["<unk>", "zero"]] } }));
      await assert.rejects(loadTokenizer(dir), /tokenizer\.json: model\.vocab\[0\] is not a \[piece, score\] pair/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("an unknown tokenizer_class names the file", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bert-ts-spm-class-"));
    try {
      copyFileSync(modelFile, join(dir, "sentencepiece.bpe.model"));
      writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ tokenizer_class: "MysteryTokenizer" }));
      await assert.rejects(loadTokenizer(dir), /tokenizer_config\.json: tokenizer_class "MysteryTokenizer" is not supported/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("CamemBERT scheme (camembert-base's own model file)", { skip: skipUnlessModel(XLMR) }, () => {
  it("ids as transformers' CamembertTokenizer gives them (verified with the reference kit)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "bert-ts-camembert-"));
    try {
      copyFileSync(join(modelPath(XLMR), "sentencepiece.bpe.model"), join(dir, "sentencepiece.bpe.model"));
      writeFileSync(join(dir, "tokenizer_config.json"), JSON.stringify({ tokenizer_class: "CamembertTokenizer", model_max_length: 512 }));
      const tok = await loadTokenizer(dir);
      // <s>NOTUSED 0, <pad> 1, </s>NOTUSED 2, <unk> 3, piece i → i + 4 (so <s> 5, </s> 6), <mask> 32004.
      assert.deepEqual(tok.encode("Bonjour le monde !").inputIds, [5, 1285, 16, 164, 83, 6]);
      assert.deepEqual(tok.encode("J'aime le camembert <mask>.").inputIds, [5, 121, 11, 660, 16, 730, 25543, 110, 32004, 21, 9, 6]);
      assert.deepEqual(tok.encode("今天 Café").inputIds, [5, 21, 3, 10497, 6]);
      assert.deepEqual(tok.encode("Qui ?", "Moi.").inputIds, [5, 1470, 106, 6, 6, 1686, 9, 6]);
      assert.deepEqual([tok.maskTokenId, tok.unkTokenId, tok.padTokenId], [32004, 3, 1]);
      assert.equal(tok.decode(tok.encode("Bonjour le monde !").inputIds), "<s> Bonjour le monde!</s>");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
