/**
 * Packed execution: a batch of different-length texts becomes one [totalTokens, hidden] matrix of
 * real tokens only (padding dropped), plus row offsets per sequence. Dense layers then run once over
 * all rows and attention runs per sequence, so no work is spent on padding.
 */
import type { ModelInput } from "../tokenizers/encoding.js";

export interface PackedBatch {
  /** [totalTokens] vocabulary ids of real tokens, sequence after sequence. */
  inputIds: Int32Array;
  /** [totalTokens] segment ids. */
  tokenTypeIds: Int32Array;
  /** [totalTokens] index of each token in the caller's (possibly padded) sequence. */
  positions: Int32Array;
  /** [numSeqs + 1] row offsets: sequence s owns rows seqStarts[s] .. seqStarts[s+1]-1. */
  seqStarts: Int32Array;
  /** Each input's length as given (padding included), to rebuild padded tensors on request. */
  inputLengths: number[];
}

export function packInputs(inputs: readonly ModelInput[]): PackedBatch {
  if (inputs.length === 0) throw new Error("Expected at least one input but received an empty batch");
  let total = 0;
  let longest = 0;
  // Inputs whose mask keeps every token (all of them, from the tokenizer) are copied whole, with
  // TypedArray.set, instead of token by token: this runs before the optimising compiler has seen
  // it (a process embeds ~30 batches), where a per-token loop costs ~0.5 us a token.
  const whole = new Uint8Array(inputs.length);
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i];
    const n = input.inputIds.length;
    if (n === 0) throw new Error(`Input ${i} has no tokens (encode adds [CLS] and [SEP]; pass an Encoding)`);
    const mask = input.attentionMask;
    if (mask && mask.length !== n) {
      throw new Error(`Input ${i}: attentionMask has ${mask.length} entries but inputIds has ${n}`);
    }
    if (input.tokenTypeIds && input.tokenTypeIds.length !== n) {
      throw new Error(`Input ${i}: tokenTypeIds has ${input.tokenTypeIds.length} entries but inputIds has ${n}`);
    }
    if (!mask || indexOfZero(mask) < 0) {
      whole[i] = 1;
      total += n;
      if (n > longest) longest = n;
    } else for (let t = 0; t < n; t++) if (mask[t] !== 0) total++;
  }
  const inputIds = new Int32Array(total);
  const tokenTypeIds = new Int32Array(total);
  const positions = new Int32Array(total);
  const seqStarts = new Int32Array(inputs.length + 1);
  const iota = positionsUpTo(longest);
  let row = 0;
  for (let s = 0; s < inputs.length; s++) {
    const input = inputs[s];
    seqStarts[s] = row;
    const start = row;
    const n = input.inputIds.length;
    if (whole[s] === 1) {
      // The same conversions as element assignment (ToNumber, then modulo 2^32 to int32).
      inputIds.set(input.inputIds, row);
      if (input.tokenTypeIds) tokenTypeIds.set(input.tokenTypeIds, row);
      positions.set(iota.subarray(0, n), row);
      row += n;
      continue;
    }
    for (let t = 0; t < n; t++) {
      if (input.attentionMask && input.attentionMask[t] === 0) continue;
      inputIds[row] = input.inputIds[t];
      tokenTypeIds[row] = input.tokenTypeIds ? input.tokenTypeIds[t] : 0;
      positions[row] = t;
      row++;
    }
    if (row === start) throw new Error(`Input ${s} has an attention mask with no real token`);
  }
  seqStarts[inputs.length] = row;
  const inputLengths = new Array<number>(inputs.length);
  for (let s = 0; s < inputs.length; s++) inputLengths[s] = inputs[s].inputIds.length;
  return { inputIds, tokenTypeIds, positions, seqStarts, inputLengths };
}

/** The first index holding 0 (or -0: `mask[t] === 0` as the loop tests), else -1; indexOf is a builtin, fast also in cold code. */
function indexOfZero(mask: ArrayLike<number>): number {
  if (typeof (mask as { indexOf?: unknown }).indexOf === "function") return (mask as readonly number[]).indexOf(0);
  for (let t = 0; t < mask.length; t++) if (mask[t] === 0) return t;
  return -1;
}

/** 0, 1, 2, ... (at least n of them), kept between batches. */
let iotaCache = new Int32Array(0);
function positionsUpTo(n: number): Int32Array {
  if (iotaCache.length < n) {
    iotaCache = new Int32Array(Math.max(n, 2 * iotaCache.length, 512));
    for (let t = 0; t < iotaCache.length; t++) iotaCache[t] = t;
  }
  return iotaCache;
}
