/**
 * The browser's stand-in for src/io/tokenizer-json-cache.ts: no cache folder to keep a faster form
 * of tokenizer.json in, so it is parsed as it is.
 */
import type { TokenizerJson } from "../tokenizers/tokenizer-json.js";
import { parseJsonObject, readModelText } from "../io/model-files.js";

export async function readTokenizerJson(path: string): Promise<TokenizerJson> {
  const text = await readModelText(path);
  return parseJsonObject(text, path) as TokenizerJson;
}
