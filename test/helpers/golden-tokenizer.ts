/** Checks one golden input (tokens, ids, types or their absence, masks, tokenize(), lengths, decode, offset sanity). */
import assert from "node:assert/strict";
import type { Tokenizer } from "../../src/tokenizers/index.js";

export function pairOf(x: any): [string, string | null] {
  return x.is_pair ? x.input : [x.input, null];
}

export function checkGoldenInput(tok: Tokenizer, x: any, label: string, options: { decoded?: boolean; tokenize?: boolean } = {}): void {
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
  if (options.tokenize ?? true) {
    assert.deepEqual(tok.tokenize(a), x.wordpieces_a, `${label} wordpieces_a`);
    if (b !== null) assert.deepEqual(tok.tokenize(b), x.wordpieces_b, `${label} wordpieces_b`);
  }
  checkGoldenIds(tok, x, label);
  const untruncated = tok.encode(a, b);
  assert.equal(untruncated.inputIds.length, x.num_tokens_untruncated, `${label} num_tokens_untruncated`);
  assert.equal(enc.numTruncatedTokens, x.num_tokens_untruncated - x.num_tokens, `${label} numTruncatedTokens`);
  if (options.decoded ?? true) assert.equal(tok.decode(enc.inputIds), x.decoded, `${label} decoded`);
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


/**
 * encodeIds (the embedding loop's encode, without token strings and offsets) against the golden
 * file: ids, token types (all 0 where the golden has none), masks, what 512-token truncation cut,
 * and the untruncated length.
 */
export function checkGoldenIds(tok: Tokenizer, x: any, label: string): void {
  const [a, b] = pairOf(x);
  const ids = tok.encodeIds(a, b, { truncation: "longest_first", maxLength: 512 });
  assert.deepEqual(ids.inputIds, x.input_ids, `${label} encodeIds input_ids`);
  assert.deepEqual(ids.tokenTypeIds, x.token_type_ids ?? x.input_ids.map(() => 0), `${label} encodeIds token_type_ids`);
  assert.deepEqual(ids.attentionMask, x.attention_mask, `${label} encodeIds attention_mask`);
  assert.deepEqual(ids.specialTokensMask, x.special_tokens_mask, `${label} encodeIds special_tokens_mask`);
  assert.equal(ids.numTruncatedTokens, x.num_tokens_untruncated - x.num_tokens, `${label} encodeIds numTruncatedTokens`);
  assert.equal(tok.encodeIds(a, b).inputIds.length, x.num_tokens_untruncated, `${label} encodeIds untruncated length`);
}
