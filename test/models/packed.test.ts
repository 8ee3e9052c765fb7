/**
 * packInputs (src/models/packed.ts): a batch of (possibly padded) inputs becomes the packed rows of
 * its real tokens. Inputs whose masks keep every token are copied whole (TypedArray.set) and the
 * others token by token; either way the rows must be what the definition gives: every token whose
 * mask entry is not 0 (no mask: every token), its id, its type (0 without types) and its index.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { packInputs } from "../../src/models/packed.js";
import type { ModelInput } from "../../src/tokenizers/encoding.js";
import { mulberry32 } from "../helpers/random.js";

/** The definition, token by token. */
function expected(inputs: readonly ModelInput[]) {
  const ids: number[] = [], types: number[] = [], positions: number[] = [], starts: number[] = [];
  for (const input of inputs) {
    starts.push(ids.length);
    for (let t = 0; t < input.inputIds.length; t++) {
      if (input.attentionMask && input.attentionMask[t] === 0) continue;
      ids.push(input.inputIds[t] | 0);
      types.push(input.tokenTypeIds ? input.tokenTypeIds[t] | 0 : 0);
      positions.push(t);
    }
  }
  starts.push(ids.length);
  return { ids, types, positions, starts, lengths: inputs.map((x) => x.inputIds.length) };
}

function check(inputs: readonly ModelInput[], what: string): void {
  const got = packInputs(inputs);
  const want = expected(inputs);
  assert.deepEqual([...got.inputIds], want.ids, `${what}: ids`);
  assert.deepEqual([...got.tokenTypeIds], want.types, `${what}: token types`);
  assert.deepEqual([...got.positions], want.positions, `${what}: positions`);
  assert.deepEqual([...got.seqStarts], want.starts, `${what}: sequence starts`);
  assert.deepEqual(got.inputLengths, want.lengths, `${what}: input lengths`);
}

describe("packInputs", () => {
  it("keeps exactly the tokens the masks keep, whole inputs and masked ones mixed, in any array type", () => {
    const rand = mulberry32(3);
    const randomInts = (n: number, max: number) => Array.from({ length: n }, () => Math.floor(rand() * max));
    const masks: ((n: number) => ArrayLike<number> | undefined)[] = [
      () => undefined,
      (n) => new Array(n).fill(1),
      (n) => Array.from({ length: n }, (_, t) => (t < n - 2 ? 1 : 0)), // right padding
      (n) => Array.from({ length: n }, (_, t) => (t < 2 ? 0 : 1)), // left padding
      (n) => Array.from({ length: n }, (_, t) => (t % 3 === 1 ? -0 : 1)), // holes, -0 is a 0
      (n) => Int32Array.from({ length: n }, () => 1),
      (n) => Uint8Array.from({ length: n }, (_, t) => (t === n - 1 ? 0 : 1)),
      (n) => Float64Array.from({ length: n }, () => 0.5), // any other value keeps the token
      (n) => ({ length: n, ...Object.fromEntries(Array.from({ length: n }, (_, t) => [t, t === 1 ? 0 : 1])) }) as ArrayLike<number>, // no indexOf
    ];
    for (let round = 0; round < 40; round++) {
      const inputs: ModelInput[] = Array.from({ length: 1 + (round % 9) }, (_, i) => {
        const n = 3 + Math.floor(rand() * (round < 20 ? 40 : 700));
        const ids = randomInts(n, 30522);
        const types = randomInts(n, 2);
        return {
          inputIds: i % 2 === 0 ? ids : Int32Array.from(ids),
          tokenTypeIds: i % 3 === 0 ? undefined : i % 3 === 1 ? types : Int32Array.from(types),
          attentionMask: masks[(round + i) % masks.length](n),
        };
      });
      check(inputs, `round ${round}`);
    }
    // The same conversion as element assignment: ToNumber, then int32 wrap-around.
    check([{ inputIds: [2 ** 32 + 5, -1, 1.9, 2 ** 31] }, { inputIds: Float64Array.from([3.7, -2.2]), attentionMask: [1, 1] }], "conversions");
  });

  it("refuses empty batches, empty inputs, mismatched lengths and masks that keep nothing", () => {
    assert.throws(() => packInputs([]), /empty batch/);
    assert.throws(() => packInputs([{ inputIds: [1, 2] }, { inputIds: [] }]), /Input 1 has no tokens/);
    assert.throws(() => packInputs([{ inputIds: [1, 2], attentionMask: [1] }]), /attentionMask has 1 entries but inputIds has 2/);
    assert.throws(() => packInputs([{ inputIds: [1, 2], tokenTypeIds: [0, 0, 0] }]), /tokenTypeIds has 3 entries/);
    assert.throws(() => packInputs([{ inputIds: [1] }, { inputIds: [1, 2], attentionMask: [0, 0] }]), /Input 1 has an attention mask with no real token/);
  });
});
