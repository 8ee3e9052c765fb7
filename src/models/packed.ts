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
  for (const [i, input] of inputs.entries()) {
    const n = input.inputIds.length;
    if (n === 0) throw new Error(`Input ${i} has no tokens (encode adds [CLS] and [SEP]; pass an Encoding)`);
    if (input.attentionMask && input.attentionMask.length !== n) {
      throw new Error(`Input ${i}: attentionMask has ${input.attentionMask.length} entries but inputIds has ${n}`);
    }
    if (input.tokenTypeIds && input.tokenTypeIds.length !== n) {
      throw new Error(`Input ${i}: tokenTypeIds has ${input.tokenTypeIds.length} entries but inputIds has ${n}`);
    }
    for (let t = 0; t < n; t++) if (!input.attentionMask || input.attentionMask[t] !== 0) total++;
  }
  const inputIds = new Int32Array(total);
  const tokenTypeIds = new Int32Array(total);
  const positions = new Int32Array(total);
  const seqStarts = new Int32Array(inputs.length + 1);
  let row = 0;
  inputs.forEach((input, s) => {
    seqStarts[s] = row;
    const start = row;
    for (let t = 0; t < input.inputIds.length; t++) {
      if (input.attentionMask && input.attentionMask[t] === 0) continue;
      inputIds[row] = input.inputIds[t];
      tokenTypeIds[row] = input.tokenTypeIds ? input.tokenTypeIds[t] : 0;
      positions[row] = t;
      row++;
    }
    if (row === start) throw new Error(`Input ${s} has an attention mask with no real token`);
  });
  seqStarts[inputs.length] = row;
  return { inputIds, tokenTypeIds, positions, seqStarts, inputLengths: inputs.map((x) => x.inputIds.length) };
}
