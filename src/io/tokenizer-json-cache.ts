/**
 * tokenizer.json, read faster after the first time. JSON.parse spends most of a tokenizer's load on
 * `model.vocab`, a 30k-key object (50k for RoBERTa), and making it a lookup table costs as much
 * again. The first load also writes a cache file to the bert-ts cache folder holding the rest of
 * tokenizer.json and the vocabulary as the typed arrays of its lookup table
 * (tokenizers/models/token-table.ts); later loads parse a small JSON header and use the arrays as
 * read — no vocabulary object, no Map, no 30k strings (~60 ms of CPU and ~2000 page faults of an
 * `embed` start before).
 *
 * File: "BTTK", u32 header length, the JSON header { format, json: tokenizer.json with model.vocab
 * null, lengths of the arrays }, zero padding to 4 bytes, the arrays (chars u16, padded to 4; starts
 * u32; ids, slots, entryOfId i32), then a u32 checksum of everything before it. A file whose
 * checksum, lengths or header do not check out is ignored and rewritten.
 *
 * Key: the file's real path, size and mtime (as io/file-digest.ts keys the weights' sha256), so an
 * edited tokenizer.json is read afresh. Location: <BERT_TS_CACHE or ~/.cache/bert-ts>/tokenizers/.
 * BERT_TS_TOKENIZER_CACHE=0 turns it off. Writes go through a temporary file renamed into place.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, realpath, rename, stat, unlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { TokenizerJson } from "../tokenizers/tokenizer-json.js";
import { TokenTable, type TokenTableArrays } from "../tokenizers/models/token-table.js";
import { preparedVocabPlaceholder, vocabFromEntries } from "../tokenizers/models/vocab.js";
import { bertTsCacheDir } from "./file-digest.js";
import { parseJsonObject, readModelText } from "./model-files.js";

const FORMAT = "bert-ts tokenizer.json cache v2";
const MAGIC = 0x4b545442; // "BTTK" read as a little-endian u32

/** What the last read did (tests count hits, never milliseconds). */
export let lastTokenizerCacheOutcome: "off" | "hit" | "created" | "rebuilt" | "not-cached" | undefined;

interface CacheHeader {
  format: string;
  /** tokenizer.json with model.vocab set to null. */
  json: TokenizerJson;
  /** Element counts of chars, starts, ids, slots, entryOfId. */
  lengths: [number, number, number, number, number];
}

/** Parses tokenizer.json (errors name the file), through the cache when it can. */
export async function readTokenizerJson(path: string): Promise<TokenizerJson> {
  const cachePath = process.env.BERT_TS_TOKENIZER_CACHE === "0" ? undefined : await cacheFileFor(path);
  if (cachePath === undefined) {
    lastTokenizerCacheOutcome = "off";
    return parseTokenizerJson(path);
  }
  let problem: "missing" | "bad" = "missing";
  try {
    const cached = fromCacheFile(await readFile(cachePath));
    if (cached) {
      lastTokenizerCacheOutcome = "hit";
      return cached;
    }
    problem = "bad";
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") problem = "bad";
  }
  const json = await parseTokenizerJson(path);
  const vocab = json.model?.vocab;
  if ((json.model?.type !== "WordPiece" && json.model?.type !== "BPE") || typeof vocab !== "object" || vocab === null || Array.isArray(vocab)) {
    lastTokenizerCacheOutcome = "not-cached";
    return json;
  }
  const tokens = Object.keys(vocab);
  let table: TokenTable;
  try {
    table = vocabFromEntries(tokens, tokens.map((t) => (vocab as Record<string, number>)[t]), path).tokenToId;
  } catch {
    // Not a usable vocabulary: the tokenizer reports it (naming the file); nothing to cache.
    lastTokenizerCacheOutcome = "not-cached";
    return json;
  }
  const rest = { ...json, model: { ...json.model, vocab: null } } as unknown as TokenizerJson;
  await writeCacheFile(cachePath, toCacheFile(rest, table.arrays));
  lastTokenizerCacheOutcome = problem === "missing" ? "created" : "rebuilt";
  return { ...json, model: { ...json.model, vocab: preparedVocabPlaceholder({ tokenToId: table }) } } as TokenizerJson;
}

async function parseTokenizerJson(path: string): Promise<TokenizerJson> {
  const text = await readModelText(path);
  return parseJsonObject(text, path) as TokenizerJson;
}

async function cacheFileFor(path: string): Promise<string | undefined> {
  try {
    const real = await realpath(path);
    const info = await stat(real);
    const key = createHash("sha256").update(`${FORMAT}\0${real}\0${info.size}\0${info.mtimeMs}`).digest("hex");
    return join(bertTsCacheDir(), "tokenizers", `${key}.bin`);
  } catch {
    return undefined; // unreadable: the plain read reports it
  }
}

/**
 * The file's checksum: the first 4 bytes of the sha256 of `words` (a flipped bit or a cut file
 * changes it). node:crypto is loaded anyway for the cache key, and hashes ~1 MB in well under a
 * millisecond where a JS loop, run once and so never optimised, took ~5 ms.
 */
function tableChecksum(words: Uint32Array): number {
  return createHash("sha256").update(words).digest().readUInt32LE(0);
}

const pad4 = (n: number) => (n + 3) & ~3;

/** Byte offsets of the arrays after a header of `headerBytes`, and the checksum's. */
function layout(headerBytes: number, lengths: readonly number[]): { offsets: number[]; checksumAt: number } {
  let at = pad4(8 + headerBytes);
  const offsets: number[] = [];
  lengths.forEach((n, i) => {
    offsets.push(at);
    at += pad4(n * (i === 0 ? 2 : 4));
  });
  return { offsets, checksumAt: at };
}

function toCacheFile(json: TokenizerJson, arrays: TokenTableArrays): Uint8Array {
  const parts = [arrays.chars, arrays.starts, arrays.ids, arrays.slots, arrays.entryOfId];
  const lengths = parts.map((p) => p.length) as CacheHeader["lengths"];
  const header = Buffer.from(JSON.stringify({ format: FORMAT, json, lengths } satisfies CacheHeader), "utf8");
  const { offsets, checksumAt } = layout(header.length, lengths);
  const file = new Uint8Array(checksumAt + 4);
  const words = new Uint32Array(file.buffer);
  words[0] = MAGIC;
  words[1] = header.length;
  file.set(header, 8);
  parts.forEach((p, i) => file.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), offsets[i]));
  words[checksumAt / 4] = tableChecksum(words.subarray(0, checksumAt / 4));
  return file;
}

/** The tokenizer.json a cache file holds, or undefined when it is not one of ours or is damaged. */
function fromCacheFile(read: Uint8Array): TokenizerJson | undefined {
  // The arrays are used in place: they need 4-byte alignment (a large read has its own buffer).
  const file = read.byteOffset % 4 === 0 ? read : new Uint8Array(read);
  if (file.length < 12 || file.length % 4 !== 0) return undefined;
  const words = new Uint32Array(file.buffer, file.byteOffset, file.length / 4);
  if (words[0] !== MAGIC || words[1] > file.length - 12) return undefined;
  if (tableChecksum(words.subarray(0, words.length - 1)) !== words[words.length - 1]) return undefined;
  let header: CacheHeader;
  try {
    header = JSON.parse(Buffer.from(file.buffer, file.byteOffset + 8, words[1]).toString("utf8")) as CacheHeader;
  } catch {
    return undefined;
  }
  if (header?.format !== FORMAT || typeof header.json?.model !== "object" || header.json.model === null) return undefined;
  const lengths = header.lengths;
  if (!Array.isArray(lengths) || lengths.length !== 5 || !lengths.every((n) => Number.isSafeInteger(n) && n >= 0)) return undefined;
  const { offsets, checksumAt } = layout(words[1], lengths);
  if (checksumAt + 4 !== file.length) return undefined;
  const at = (i: number) => file.byteOffset + offsets[i];
  const arrays: TokenTableArrays = {
    chars: new Uint16Array(file.buffer, at(0), lengths[0]),
    starts: new Uint32Array(file.buffer, at(1), lengths[1]),
    ids: new Int32Array(file.buffer, at(2), lengths[2]),
    slots: new Int32Array(file.buffer, at(3), lengths[3]),
    entryOfId: new Int32Array(file.buffer, at(4), lengths[4]),
  };
  // What lookups rely on: one start per entry and a last one at the end of chars, a power-of-two
  // slot table with room to spare (probing always meets an empty slot).
  const entries = lengths[2];
  if (entries === 0 || lengths[1] !== entries + 1 || arrays.starts[entries] !== lengths[0] || lengths[3] < 2 * entries || (lengths[3] & (lengths[3] - 1)) !== 0) return undefined;
  const table = new TokenTable(arrays);
  return { ...header.json, model: { ...header.json.model, vocab: preparedVocabPlaceholder({ tokenToId: table }) } } as TokenizerJson;
}

/** Best effort: a cache that cannot be written only costs the slower parse next time. */
async function writeCacheFile(path: string, bytes: Uint8Array): Promise<void> {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  } catch {
    await unlink(tmp).catch(() => undefined);
  }
}
