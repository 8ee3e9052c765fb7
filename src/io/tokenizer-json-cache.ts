/**
 * tokenizer.json, read faster after the first time. JSON.parse spends most of a tokenizer's load on
 * `model.vocab`, a 30k-key object (50k for RoBERTa) that is then copied into a Map: ~50 ms of an
 * `embed` start. The first load also writes the same JSON with that object as two flat arrays
 * (tokens in key order, their ids) to the bert-ts cache folder; later loads parse those (a string
 * array parses ~5x faster than an object of the same keys) and build the identical vocabulary.
 *
 * Key: the file's real path, size and mtime (as io/file-digest.ts keys the weights' sha256), so an
 * edited tokenizer.json is read afresh. Location: <BERT_TS_CACHE or ~/.cache/bert-ts>/tokenizers/.
 * BERT_TS_TOKENIZER_CACHE=0 turns it off. A cache file that does not parse or does not hold what it
 * should is ignored and rewritten; writes go through a temporary file renamed into place.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, realpath, rename, stat, unlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { TokenizerJson } from "../tokenizers/tokenizer-json.js";
import { preparedVocabPlaceholder, vocabFromEntries } from "../tokenizers/models/vocab.js";
import { bertTsCacheDir } from "./file-digest.js";
import { parseJsonObject, readModelText } from "./model-files.js";

const FORMAT = "bert-ts tokenizer.json cache v1";

/** What the last read did (tests count hits, never milliseconds). */
export let lastTokenizerCacheOutcome: "off" | "hit" | "created" | "rebuilt" | "not-cached" | undefined;

interface CacheFile {
  format: string;
  /** tokenizer.json with model.vocab set to null. */
  json: TokenizerJson;
  tokens: string[];
  ids: number[];
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
    const cached = fromCacheFile(JSON.parse(await readFile(cachePath, "utf8")), path);
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
  const file: CacheFile = { format: FORMAT, json: { ...json, model: { ...json.model, vocab: null } } as unknown as TokenizerJson, tokens, ids: tokens.map((t) => (vocab as Record<string, number>)[t]) };
  await writeCacheFile(cachePath, JSON.stringify(file));
  lastTokenizerCacheOutcome = problem === "missing" ? "created" : "rebuilt";
  return json;
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
    return join(bertTsCacheDir(), "tokenizers", `${key}.json`);
  } catch {
    return undefined; // unreadable: the plain read reports it
  }
}

/** The tokenizer.json a cache file holds, or undefined when it is not one of ours. */
function fromCacheFile(file: unknown, source: string): TokenizerJson | undefined {
  const f = file as Partial<CacheFile> | null;
  if (f?.format !== FORMAT || typeof f.json !== "object" || f.json === null || typeof f.json.model !== "object" || f.json.model === null) return undefined;
  if (!Array.isArray(f.tokens) || !Array.isArray(f.ids) || f.tokens.length !== f.ids.length) return undefined;
  // The same checks and the same Map as vocabFromObject over the original object.
  const vocab = vocabFromEntries(f.tokens, f.ids, source);
  return { ...f.json, model: { ...f.json.model, vocab: preparedVocabPlaceholder(vocab) } } as TokenizerJson;
}

/** Best effort: a cache that cannot be written only costs the slower parse next time. */
async function writeCacheFile(path: string, text: string): Promise<void> {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  try {
    await mkdir(dirname(path), { recursive: true });
    await writeFile(tmp, text);
    await rename(tmp, path);
  } catch {
    await unlink(tmp).catch(() => undefined);
  }
}
