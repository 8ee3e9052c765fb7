/**
 * Every golden file made with transformers' BertTokenizer, every input: tokens, ids, masks, word
 * pieces, untruncated length, truncation to 512 (longest_first) and decode, exactly; loaded from
 * vocab.txt and, where the folder has one, from tokenizer.json (the two must agree).
 */
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { test } from "node:test";
import { BertTokenizer } from "../../src/tokenizers/index.js";
import type { Tokenizer } from "../../src/tokenizers/index.js";
import { GOLDEN_DIR, loadGolden, modelPath, skipUnlessGolden } from "../helpers/paths.js";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { checkGoldenIds } from "../helpers/golden-tokenizer.js";

const goldenMissing = skipUnlessGolden("");
const files = goldenMissing ? [] : readdirSync(GOLDEN_DIR).filter((f) => f.endsWith(".json"));
const bertFiles = files.filter((f) => loadGolden(f).meta?.tokenizer_class === "BertTokenizer");

test("golden: there are BertTokenizer golden files", { skip: goldenMissing }, () => {
  assert.ok(bertFiles.length >= 8, `found ${bertFiles.length}`);
});

/** An independent reading of what a token's source text should normalise to. */
function normaliseSlice(s: string, lowercase: boolean): string {
  const cleaned = s.replace(/[\p{Cc}\p{Cf}\uFFFD]/gu, "");
  if (!lowercase) return cleaned.normalize("NFC");
  return cleaned.toLowerCase().normalize("NFD").replace(/\p{Mn}/gu, "");
}

function checkInput(tok: Tokenizer, x: any, label: string, lowercase: boolean): void {
  const [a, b]: [string, string | null] = x.is_pair ? x.input : [x.input, null];
  const enc = tok.encode(a, b, { truncation: "longest_first", maxLength: 512 });
  assert.deepEqual(enc.tokens, x.tokens, `${label} tokens`);
  assert.deepEqual(enc.inputIds, x.input_ids, `${label} input_ids`);
  assert.deepEqual(enc.tokenTypeIds, x.token_type_ids, `${label} token_type_ids`);
  assert.deepEqual(enc.attentionMask, x.attention_mask, `${label} attention_mask`);
  assert.deepEqual(enc.specialTokensMask, x.special_tokens_mask, `${label} special_tokens_mask`);
  assert.deepEqual(tok.tokenize(a), x.wordpieces_a, `${label} wordpieces_a`);
  if (b !== null) assert.deepEqual(tok.tokenize(b), x.wordpieces_b, `${label} wordpieces_b`);
  checkGoldenIds(tok, x, label);
  const untruncated = tok.encode(a, b);
  assert.equal(untruncated.inputIds.length, x.num_tokens_untruncated, `${label} num_tokens_untruncated`);
  assert.equal(enc.numTruncatedTokens, x.num_tokens_untruncated - x.num_tokens, `${label} numTruncatedTokens`);
  assert.equal(tok.decode(enc.inputIds), x.decoded, `${label} decoded`);

  // Offsets: in range, non-decreasing per sequence, and the source text normalises to the token.
  let last = [0, 0];
  for (let k = 0; k < enc.inputIds.length; k++) {
    const seq = enc.sequenceIds[k];
    if (seq === null) {
      assert.deepEqual(enc.offsets[k], [0, 0]);
      continue;
    }
    if (k > 0 && enc.sequenceIds[k - 1] !== seq) last = [0, 0];
    const text = seq === 0 ? a : (b as string);
    const [s, e] = enc.offsets[k];
    assert.ok(0 <= s && s < e && e <= text.length, `${label} offsets[${k}] = [${s}, ${e}] in range`);
    assert.ok(s >= last[0] && e >= last[1], `${label} offsets[${k}] monotone`);
    last = [s, e];
    const token = enc.tokens[k];
    if (enc.inputIds[k] === tok.unkTokenId || text.slice(s, e) === token) continue;
    const piece = token.startsWith("##") ? token.slice(2) : token;
    const source = normaliseSlice(text.slice(s, e), lowercase);
    if (/^[\x20-\x7e]*$/.test(text)) assert.equal(source, piece, `${label} token ${k} ${JSON.stringify(token)} from ${JSON.stringify(text.slice(s, e))}`);
    else assert.ok(source.includes(piece) || piece === text.slice(s, e), `${label} token ${k} ${JSON.stringify(token)} from ${JSON.stringify(text.slice(s, e))}`);
  }
}

for (const file of bertFiles) {
  const golden = loadGolden(file);
  const folder: string = golden.meta.model_folder;
  const lowercase: boolean = golden.meta.tokenizer_basic?.do_lower_case ?? true;
  const hasJson = existsSync(join(modelPath(folder), "tokenizer.json"));

  test(`golden ${file}: vocab.txt tokenizer matches transformers on all ${golden.inputs.length} inputs`, async () => {
    const tok = await BertTokenizer.fromPretrained(modelPath(folder), { source: "vocab.txt" });
    assert.equal(tok.source, "vocab.txt");
    golden.inputs.forEach((x: any, i: number) => checkInput(tok, x, `${file}#${i}`, lowercase));
  });

  test(`golden ${file}: tokenizer.json tokenizer matches too, and agrees with vocab.txt`, { skip: hasJson ? false : "no tokenizer.json in the folder" }, async () => {
    const fromJson = await BertTokenizer.fromPretrained(modelPath(folder));
    const fromVocab = await BertTokenizer.fromPretrained(modelPath(folder), { source: "vocab.txt" });
    assert.equal(fromJson.source, "tokenizer.json");
    assert.equal(fromJson.vocabSize, fromVocab.vocabSize);
    assert.equal(fromJson.modelMaxLength, 512);
    golden.inputs.forEach((x: any, i: number) => {
      checkInput(fromJson, x, `${file}#${i} (tokenizer.json)`, lowercase);
      const [a, b] = x.is_pair ? x.input : [x.input, null];
      assert.deepEqual(fromJson.encode(a, b), fromVocab.encode(a, b), `${file}#${i} both loaders`);
    });
  });
}
