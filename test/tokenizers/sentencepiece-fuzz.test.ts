/**
 * SentencePiece tokenization against the real library on random Unicode. The references in
 * fixtures/sentencepiece/reference.json were written once by make_reference.py (beside it; not run
 * by npm test) with the reference kit's Python: sentencepiece 0.1.97 and transformers' slow
 * XLMRobertaTokenizer / AlbertTokenizer on the shared folders, for 320 seeded strings (combining
 * marks, full-width forms, ligatures, emoji sequences, private-use code points, runs of spaces,
 * controls, mixed scripts, special tokens inside text); and sentencepiece's own encode() with two
 * small models the script trained on the shared corpus: BPE, and Unigram with byte_fallback,
 * user-defined and control symbols.
 */
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { readSentencePieceModel } from "../../src/io/sentencepiece-model.js";
import { loadTokenizer } from "../../src/tokenizers/index.js";
import { sentencePieceStages } from "../../src/tokenizers/sentencepiece-tokenizer.js";
import { modelPath, skipUnlessModel } from "../helpers/paths.js";

const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), "..", "fixtures", "sentencepiece");
const reference = JSON.parse(readFileSync(join(FIXTURES, "reference.json"), "utf8"));

describe("SentencePiece fuzz against transformers' slow tokenizers", () => {
  for (const [key, folder] of [
    ["xlmr", "xlm-roberta-micro-random"],
    ["albert", "albert-micro-random"],
  ] as const) {
    it(`${folder}: ids and tokenize() of ${reference.cases.length} random strings`, { skip: skipUnlessModel(folder) }, async () => {
      const tok = await loadTokenizer(modelPath(folder), { source: "sentencepiece" });
      for (const c of reference.cases) {
        const x = c[key];
        assert.deepEqual(tok.encode(x.text).inputIds, x.ids, `${folder} ids of ${JSON.stringify(x.text)}`);
        assert.deepEqual(tok.tokenize(x.text), x.tokens, `${folder} tokenize(${JSON.stringify(x.text)})`);
      }
    });
  }
});

describe("SentencePiece models trained by the reference script", () => {
  for (const name of ["bpe-identity", "unigram-bytes"]) {
    it(`${name}.model: sentencepiece's ids and pieces on ${reference.texts.length} strings`, async () => {
      const file = join(FIXTURES, `${name}.model`);
      const proto = await readSentencePieceModel(file);
      const { normalizer, model } = sentencePieceStages(proto, file);
      reference.texts.forEach((text: string, i: number) => {
        const want = reference.trained[name][i];
        const ids = model.tokenizeWord(normalizer.normalize(text).text).ids;
        assert.deepEqual(ids, want.ids, `${name} ids of ${JSON.stringify(text)} (sentencepiece: ${want.pieces.join(" ")})`);
      });
    });
  }

  it("the trained models exercise what they are meant to", async () => {
    const bpe = await readSentencePieceModel(join(FIXTURES, "bpe-identity.model"));
    assert.equal(bpe.modelType, "bpe");
    const uni = await readSentencePieceModel(join(FIXTURES, "unigram-bytes.model"));
    assert.equal(uni.modelType, "unigram");
    assert.equal(uni.byteFallback, true);
    const bytePieces = reference.trained["unigram-bytes"].flatMap((r: { pieces: string[] }) => r.pieces).filter((p: string) => /^<0x[0-9A-F]{2}>$/.test(p));
    assert.ok(bytePieces.length > 100, "the references contain byte-fallback pieces");
  });
});
