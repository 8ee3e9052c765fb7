/**
 * The tokenizers of the encoder families (issue 13) against transformers' slow tokenizers, every
 * input of each golden file: tokens, ids, token types (or their absence: all 0 and no
 * token_type_ids in modelInputNames), attention and special-token masks, tokenize() of each text,
 * untruncated length, 512-token truncation and decode, exactly. Each folder is loaded from the slow
 * tokenizer's files (vocab.txt, spiece.model, sentencepiece.bpe.model) and, where it has one, from
 * tokenizer.json; the two must agree, offsets included.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadTokenizer, SentencePieceTokenizer } from "../../src/tokenizers/index.js";
import { checkGoldenInput, pairOf } from "../helpers/golden-tokenizer.js";
import { loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const CASES: { name: string; className: string; slow: "vocab.txt" | "sentencepiece" }[] = [
  { name: "albert-micro-random", className: "AlbertTokenizer", slow: "sentencepiece" },
  { name: "xlm-roberta-micro-random", className: "XLMRobertaTokenizer", slow: "sentencepiece" },
  { name: "mpnet-micro-random", className: "MPNetTokenizer", slow: "vocab.txt" },
  { name: "distilbert-micro-random", className: "DistilBertTokenizer", slow: "vocab.txt" },
  { name: "distilbert-micro-seqcls-random", className: "DistilBertTokenizer", slow: "vocab.txt" },
  { name: "electra-micro-seqcls-random", className: "ElectraTokenizer", slow: "vocab.txt" },
];

for (const c of CASES) {
  const file = `${c.name}.json`;
  describe(`${c.className} golden: ${c.name}`, { skip: skipUnlessModel(c.name) || skipUnlessGolden(file) }, () => {
    const hasJson = () => existsSync(join(modelPath(c.name), "tokenizer.json"));

    it(`the golden file was made with ${c.className}`, () => {
      assert.equal(loadGolden(file).meta.tokenizer_class, c.className);
    });

    it(`matches transformers' ${c.className} on every input (${c.slow})`, async () => {
      const tok = await loadTokenizer(modelPath(c.name), { source: c.slow });
      loadGolden(file).inputs.forEach((x: any, i: number) => checkGoldenInput(tok, x, `${c.name}#${i} (${c.slow})`));
    });

    it("tokenizer.json gives the same encodings, offsets included", { skip: hasJson() ? false : "no tokenizer.json in the folder (see sentencepiece-json.test.ts)" }, async () => {
      const slow = await loadTokenizer(modelPath(c.name), { source: c.slow });
      const fast = await loadTokenizer(modelPath(c.name), { source: "tokenizer.json" });
      loadGolden(file).inputs.forEach((x: any, i: number) => {
        checkGoldenInput(fast, x, `${c.name}#${i} (tokenizer.json)`);
        const [a, b] = pairOf(x);
        assert.deepEqual(fast.encode(a, b).offsets, slow.encode(a, b).offsets, `${c.name}#${i} offsets agree`);
      });
    });
  });
}

describe("AutoTokenizer picks the class", { skip: skipUnlessModel("albert-micro-random") }, () => {
  it("SentencePiece folders load their .model file with the right scheme", async () => {
    const albert = await loadTokenizer(modelPath("albert-micro-random"));
    assert.ok(albert instanceof SentencePieceTokenizer);
    assert.equal(albert.family.className, "AlbertTokenizer");
    assert.equal(albert.unkTokenId, 1);
    const xlmr = await loadTokenizer(modelPath("xlm-roberta-micro-random"));
    assert.ok(xlmr instanceof SentencePieceTokenizer);
    assert.deepEqual([xlmr.clsTokenId, xlmr.padTokenId, xlmr.sepTokenId, xlmr.unkTokenId, xlmr.maskTokenId], [0, 1, 2, 3, 32001]);
    assert.equal(xlmr.vocabSize, 32002);
  });
});
