/**
 * The browser's stand-in for src/io/tokenizer-json-cache.ts: no cache folder to keep a faster form
 * of tokenizer.json in, so it is parsed as it is.
 */
import type { TokenizerJson } from "../tokenizers/tokenizer-json.js";
import { readModelText } from "../io/model-files.js";

export async function readTokenizerJson(path: string): Promise<TokenizerJson> {
  const text = await readModelText(path);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new Error(`Malformed JSON in ${path}: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`Malformed ${path}: expected a JSON object`);
  return value as TokenizerJson;
}
