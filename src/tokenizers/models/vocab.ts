import { readModelText } from "../../io/model-files.js";

/** A vocabulary: token ↔ id. */
export interface Vocab {
  tokenToId: Map<string, number>;
  /** idToToken[id]; holes stay undefined. */
  idToToken: (string | undefined)[];
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
  const tokenToId = new Map<string, number>();
  for (let id = 0; id < lines.length; id++) tokenToId.set(lines[id], id);
  return { tokenToId, idToToken: lines };
}

/** The `model.vocab` object of a tokenizer.json. */
export function vocabFromObject(vocab: Record<string, number>, source: string): Vocab {
  if (typeof vocab !== "object" || vocab === null) throw new Error(`${source}: model.vocab is missing or not an object`);
  const tokenToId = new Map<string, number>();
  let maxId = -1;
  // Object.keys and an indexed loop: for...in over a 30k-key object costs ~1.5x as much.
  const tokens = Object.keys(vocab);
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i];
    const id = vocab[token];
    if (!Number.isInteger(id) || id < 0) throw new Error(`${source}: vocabulary id of ${JSON.stringify(token)} is not a non-negative integer`);
    tokenToId.set(token, id);
    if (id > maxId) maxId = id;
  }
  if (maxId >= 4 * tokenToId.size + 1024) throw new Error(`${source}: vocabulary id ${maxId} is far beyond its ${tokenToId.size} entries`);
  // Sized once (a growing sparse array is slow); ids are usually dense.
  const idToToken: (string | undefined)[] = new Array<string | undefined>(maxId + 1).fill(undefined);
  for (const [token, id] of tokenToId) idToToken[id] = token;
  if (tokenToId.size === 0) throw new Error(`${source}: model.vocab is empty`);
  return { tokenToId, idToToken };
}
