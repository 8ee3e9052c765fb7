/**
 * TokenTable (tokenizers/models/token-table.ts) against JavaScript's Map fed the same entries: the
 * same ids, the same iteration order, Map.set's rule for repeated tokens, idToToken's rule (the
 * token last given an id), and substring lookups without substrings.
 */
import assert from "node:assert/strict";
import { test } from "node:test";
import { TokenTable } from "../../src/tokenizers/models/token-table.js";
import { mulberry32 } from "../helpers/random.js";

function reference(tokens: string[], ids: number[]): { map: Map<string, number>; byId: (string | undefined)[] } {
  const map = new Map<string, number>();
  const byId: (string | undefined)[] = [];
  tokens.forEach((t, i) => {
    map.set(t, ids[i]);
    byId[ids[i]] = t;
  });
  return { map, byId };
}

test("random vocabularies: get, has, size, iteration, tokenOf and idCount agree with Map / idToToken", () => {
  const rand = mulberry32(7);
  const alphabet = ["a", "b", "c", "##", "é", "\u{1F600}", "\ud800", " ", "[", "]"];
  for (let round = 0; round < 20; round++) {
    const n = 1 + Math.floor(rand() * 400);
    const tokens: string[] = [];
    const ids: number[] = [];
    for (let i = 0; i < n; i++) {
      let t = "";
      const len = Math.floor(rand() * 5);
      for (let k = 0; k < len; k++) t += alphabet[Math.floor(rand() * alphabet.length)];
      tokens.push(t);
      ids.push(rand() < 0.9 ? i : Math.floor(rand() * 2 * n)); // repeats and holes
    }
    const table = TokenTable.build(tokens, ids);
    const { map, byId } = reference(tokens, ids);
    assert.equal(table.size, map.size);
    assert.deepEqual([...table], [...map]);
    assert.deepEqual([...table.keys()], [...map.keys()]);
    assert.deepEqual([...table.values()], [...map.values()]);
    for (const [t, id] of map) {
      assert.equal(table.get(t), id);
      assert.ok(table.has(t));
    }
    for (const probe of ["zz", "a".repeat(9), "\ud801", "abc##"]) assert.equal(table.get(probe), map.get(probe), probe);
    assert.equal(table.idCount, byId.length);
    for (let id = -1; id <= byId.length; id++) {
      assert.equal(table.tokenOf(id), byId[id], `id ${id}`);
      assert.equal(table.hasId(id), byId[id] !== undefined, `hasId ${id}`);
    }
    assert.equal(table.maxTokenLength, Math.max(0, ...[...map.keys()].map((k) => k.length)));
  }
});

test("getRange: the id of prefix + text.slice(start, end), for every range of a word", () => {
  const tokens = ["un", "##aff", "##able", "aff", "able", "##a", "u", "##n", "unaffable"];
  const table = TokenTable.build(tokens, tokens.map((_, i) => i));
  const { map } = reference(tokens, tokens.map((_, i) => i));
  const word = "unaffable";
  for (let start = 0; start <= word.length; start++) {
    for (let end = start; end <= word.length; end++) {
      for (const prefix of ["", "##"]) assert.equal(table.getRange(word, start, end, prefix), map.get(prefix + word.slice(start, end)), `${prefix}${word.slice(start, end)}`);
    }
  }
});

test("long tokens (beyond one String.fromCharCode chunk) come back whole", () => {
  const long = "x".repeat(10_000) + "\ud83d\ude00";
  const table = TokenTable.build(["a", long], [0, 1]);
  assert.equal(table.tokenOf(1), long);
  assert.equal(table.get(long), 1);
});
