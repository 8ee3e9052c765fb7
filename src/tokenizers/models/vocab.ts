import { readModelText } from "../../io/model-files.js";
import { TokenTable } from "./token-table.js";

/** A vocabulary: token ↔ id. */
export interface Vocab {
  tokenToId: TokenTable;
}

/**
 * Reads a BERT vocab.txt: one token per line, id = line number (transformers' load_vocab; a later
 * duplicate line wins the token → id direction, as in Python's dict).
 */
export async function loadVocabTxt(path: string): Promise<Vocab> {
  return parseVocabTxt(await readModelText(path), path);
}

export function parseVocabTxt(text: string, source = "vocab.txt"): Vocab {
  const lines = text.split(/\r?\n/);
  // A final newline does not start another token (Python's readlines()).
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  if (lines.length === 0) throw new Error(`Vocabulary ${source} is empty`);
  if (text.indexOf("\0") !== -1) throw new Error(`Vocabulary ${source} is not a text file (contains NUL bytes)`);
  return { tokenToId: TokenTable.build(lines, lines.map((_, id) => id)) };
}

/** The `model.vocab` object of a tokenizer.json. */
export function vocabFromObject(vocab: Record<string, number>, source: string): Vocab {
  const prepared = typeof vocab === "object" && vocab !== null ? PREPARED.get(vocab) : undefined;
  if (prepared) return prepared;
  if (typeof vocab !== "object" || vocab === null) throw new Error(`${source}: model.vocab is missing or not an object`);
  // Object.keys and an indexed loop: for...in over a 30k-key object costs ~1.5x as much.
  const tokens = Object.keys(vocab);
  const ids = new Array<number>(tokens.length);
  for (let i = 0; i < tokens.length; i++) ids[i] = vocab[tokens[i]];
  return vocabFromEntries(tokens, ids, source);
}

/** The vocabulary of (token, id) entries in a `model.vocab` object's key order. */
export function vocabFromEntries(tokens: readonly string[], ids: readonly number[], source: string): Vocab {
  let maxId = -1;
  for (let i = 0; i < tokens.length; i++) {
    const id = ids[i];
    if (!Number.isInteger(id) || id < 0) throw new Error(`${source}: vocabulary id of ${JSON.stringify(tokens[i])} is not a non-negative integer`);
    if (id > maxId) maxId = id;
  }
  if (tokens.length === 0) throw new Error(`${source}: model.vocab is empty`);
  if (maxId >= 4 * tokens.length + 1024) throw new Error(`${source}: vocabulary id ${maxId} is far beyond its ${tokens.length} entries`);
  return { tokenToId: TokenTable.build(tokens, ids) };
}

/** Vocabularies already built for a `model.vocab` placeholder (io/tokenizer-json-cache.ts). */
const PREPARED = new WeakMap<object, Vocab>();

/**
 * A placeholder to put in `model.vocab` that vocabFromObject answers with `vocab`: the tokenizer.json
 * cache builds the vocabulary from two flat arrays, much faster than JSON.parse makes a 30k-key object.
 */
export function preparedVocabPlaceholder(vocab: Vocab): Record<string, number> {
  const placeholder = Object.freeze(Object.create(null) as Record<string, number>);
  PREPARED.set(placeholder, vocab);
  return placeholder;
}
