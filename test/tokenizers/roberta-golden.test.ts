/**
 * Every RobertaTokenizer golden file, every input (Chinese, emoji, accents, control characters,
 * pairs, the >512-token texts truncated longest_first): tokens, ids, masks, tokenize(), untruncated
 * length and decode, exactly; loaded from vocab.json + merges.txt and, where the folder has one,
 * from tokenizer.json (the two must agree, offsets included). token_type_ids are null in the files
 * (RoBERTa's tokenizer does not return them); ours are all 0.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { loadTokenizer, RobertaTokenizer, type Tokenizer } from "../../src/tokenizers/index.js";
import { loadGolden, modelPath, skipUnlessGolden, skipUnlessModel } from "../helpers/paths.js";
import { checkGoldenIds } from "../helpers/golden-tokenizer.js";

const MODELS = ["roberta-micro-random", "roberta-nano-seqcls-random"];

function pairOf(x: any): [string, string | null] {
  return x.is_pair ? x.input : [x.input, null];
}

function checkInput(tok: Tokenizer, x: any, label: string): void {
  const [a, b] = pairOf(x);
  const enc = tok.encode(a, b, { truncation: "longest_first", maxLength: 512 });
  assert.deepEqual(enc.tokens, x.tokens, `${label} tokens`);
  assert.deepEqual(enc.inputIds, x.input_ids, `${label} input_ids`);
  assert.equal(x.token_type_ids, null, `${label}: the golden has no token_type_ids`);
  assert.deepEqual(enc.tokenTypeIds, enc.inputIds.map(() => 0), `${label} token_type_ids all 0`);
  assert.deepEqual(enc.attentionMask, x.attention_mask, `${label} attention_mask`);
  assert.deepEqual(enc.specialTokensMask, x.special_tokens_mask, `${label} special_tokens_mask`);
  assert.deepEqual(tok.tokenize(a), x.wordpieces_a, `${label} wordpieces_a`);
  if (b !== null) assert.deepEqual(tok.tokenize(b), x.wordpieces_b, `${label} wordpieces_b`);
  checkGoldenIds(tok, x, label);
  const untruncated = tok.encode(a, b);
  assert.equal(untruncated.inputIds.length, x.num_tokens_untruncated, `${label} num_tokens_untruncated`);
  assert.equal(enc.numTruncatedTokens, x.num_tokens_untruncated - x.num_tokens, `${label} numTruncatedTokens`);
  assert.equal(tok.decode(enc.inputIds), x.decoded, `${label} decoded`);

  // Offsets: in range, non-decreasing per sequence, and the text under a token is what the token
  // spells (trimmed of the spaces it carries), unless the token cuts a character's bytes apart.
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
    const spelled = tok.decode([enc.inputIds[k]]);
    // Trimming removes the spaces a token spells with "Ġ"; "ĉ" (a tab) and the like stay.
    if (!spelled.includes("\ufffd")) assert.equal(text.slice(s, e), spelled.replace(/^ +| +$/g, ""), `${label} token ${k} ${enc.tokens[k]}`);
  }
}

for (const name of MODELS) {
  const file = `${name}.json`;
  describe(`RoBERTa tokenizer golden: ${name}`, { skip: skipUnlessModel(name) || skipUnlessGolden(file) }, () => {
    const hasJson = () => existsSync(join(modelPath(name), "tokenizer.json"));

    it("matches transformers' RobertaTokenizer on every input (vocab.json + merges.txt)", async () => {
      const g = loadGolden(file);
      assert.equal(g.meta.tokenizer_class, "RobertaTokenizer");
      const tok = await RobertaTokenizer.fromPretrained(modelPath(name), { source: "vocab.json" });
      assert.equal(tok.source, "vocab.json");
      for (const [i, x] of g.inputs.entries()) checkInput(tok, x, `${name} vocab.json input ${i}`);
    });

    it("tokenizer.json gives the same, offsets included", { skip: !existsSync(join(modelPath(name), "tokenizer.json")) && "no tokenizer.json" }, async () => {
      const g = loadGolden(file);
      const fast = await RobertaTokenizer.fromPretrained(modelPath(name), { source: "tokenizer.json" });
      const slow = await RobertaTokenizer.fromPretrained(modelPath(name), { source: "vocab.json" });
      assert.equal(fast.source, "tokenizer.json");
      for (const [i, x] of g.inputs.entries()) {
        checkInput(fast, x, `${name} tokenizer.json input ${i}`);
        const [a, b] = pairOf(x);
        assert.deepEqual(fast.encode(a, b), slow.encode(a, b), `${name} input ${i}: both loading paths agree`);
      }
    });

    it("loadTokenizer picks RobertaTokenizer for the folder", async () => {
      const tok = await loadTokenizer(modelPath(name));
      assert.ok(tok instanceof RobertaTokenizer);
      assert.equal((tok as RobertaTokenizer).source, hasJson() ? "tokenizer.json" : "vocab.json");
      const slow = await loadTokenizer(modelPath(name), { source: "vocab.json" });
      assert.equal((slow as RobertaTokenizer).source, "vocab.json");
      assert.equal(tok.vocabSize, 50265);
      assert.equal(tok.modelMaxLength, 512);
      assert.deepEqual([tok.clsTokenId, tok.sepTokenId, tok.padTokenId, tok.unkTokenId, tok.maskTokenId], [0, 2, 1, 3, 50264]);
    });
  });
}
