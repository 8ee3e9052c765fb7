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
import { loadTokenizer, SentencePieceTokenizer, type Tokenizer } from "../../src/tokenizers/index.js";
import { loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";

const CASES: { name: string; className: string; slow: "vocab.txt" | "sentencepiece" }[] = [
  { name: "albert-micro-random", className: "AlbertTokenizer", slow: "sentencepiece" },
  { name: "xlm-roberta-micro-random", className: "XLMRobertaTokenizer", slow: "sentencepiece" },
  { name: "mpnet-micro-random", className: "MPNetTokenizer", slow: "vocab.txt" },
  { name: "distilbert-micro-random", className: "DistilBertTokenizer", slow: "vocab.txt" },
  { name: "distilbert-micro-seqcls-random", className: "DistilBertTokenizer", slow: "vocab.txt" },
  { name: "electra-micro-seqcls-random", className: "ElectraTokenizer", slow: "vocab.txt" },
];

function pairOf(x: any): [string, string | null] {
  return x.is_pair ? x.input : [x.input, null];
}

export function checkGoldenInput(tok: Tokenizer, x: any, label: string): void {
  const [a, b] = pairOf(x);
  const enc = tok.encode(a, b, { truncation: "longest_first", maxLength: 512 });
  assert.deepEqual(enc.tokens, x.tokens, `${label} tokens`);
  assert.deepEqual(enc.inputIds, x.input_ids, `${label} input_ids`);
  if (x.token_type_ids === null) {
    assert.ok(!tok.modelInputNames.includes("token_type_ids"), `${label}: this tokenizer returns no token_type_ids`);
    assert.deepEqual(enc.tokenTypeIds, enc.inputIds.map(() => 0), `${label} token_type_ids all 0`);
  } else {
    assert.ok(tok.modelInputNames.includes("token_type_ids"), `${label}: this tokenizer returns token_type_ids`);
    assert.deepEqual(enc.tokenTypeIds, x.token_type_ids, `${label} token_type_ids`);
  }
  assert.deepEqual(enc.attentionMask, x.attention_mask, `${label} attention_mask`);
  assert.deepEqual(enc.specialTokensMask, x.special_tokens_mask, `${label} special_tokens_mask`);
  assert.deepEqual(tok.tokenize(a), x.wordpieces_a, `${label} wordpieces_a`);
  if (b !== null) assert.deepEqual(tok.tokenize(b), x.wordpieces_b, `${label} wordpieces_b`);
  const untruncated = tok.encode(a, b);
  assert.equal(untruncated.inputIds.length, x.num_tokens_untruncated, `${label} num_tokens_untruncated`);
  assert.equal(enc.numTruncatedTokens, x.num_tokens_untruncated - x.num_tokens, `${label} numTruncatedTokens`);
  assert.equal(tok.decode(enc.inputIds), x.decoded, `${label} decoded`);
  // Offsets stay inside their text and never go back within a sequence.
  for (let k = 0; k < enc.inputIds.length; k++) {
    const seq = enc.sequenceIds[k];
    const [s, e] = enc.offsets[k];
    if (seq === null) {
      assert.deepEqual(enc.offsets[k], [0, 0], `${label} special offsets`);
      continue;
    }
    const text = seq === 0 ? a : (b as string);
    assert.ok(0 <= s && s <= e && e <= text.length, `${label} token ${k} offsets [${s}, ${e}) out of range`);
    if (k > 0 && enc.sequenceIds[k - 1] === seq) assert.ok(s >= enc.offsets[k - 1][0], `${label} token ${k} offsets go back`);
  }
}

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
