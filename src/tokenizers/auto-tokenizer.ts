/**
 * Picks the tokenizer class a model folder needs. BERT (WordPiece) now; byte-level BPE (RoBERTa)
 * is recognised and reported as not supported yet.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { BertTokenizer, readFolderConfig, readJson, type FromPretrainedOptions } from "./bert-tokenizer.js";
import type { TokenizerJson } from "./tokenizer-json.js";
import type { Tokenizer } from "./tokenizer.js";

export async function loadTokenizer(dir: string, options: FromPretrainedOptions = {}): Promise<Tokenizer> {
  if (!existsSync(dir)) throw new Error(`Model folder not found: ${dir}`);
  const jsonPath = join(dir, "tokenizer.json");
  let modelType: string | undefined;
  if (existsSync(jsonPath) && options.source !== "vocab.txt") {
    const json = await readJson<TokenizerJson>(jsonPath, true);
    modelType = typeof json.model === "object" && json.model !== null ? json.model.type : undefined;
  } else if (existsSync(join(dir, "vocab.txt"))) {
    modelType = "WordPiece";
  } else if (existsSync(join(dir, "merges.txt")) && existsSync(join(dir, "vocab.json"))) {
    modelType = "BPE";
  }
  if (modelType === "WordPiece") return BertTokenizer.fromPretrained(dir, options);
  const tokenizerClass = (await readFolderConfig(dir)).tokenizerConfig.tokenizer_class;
  if (modelType === "BPE") {
    throw new Error(`${dir}: byte-level BPE tokenizers (${tokenizerClass ?? "RoBERTa/GPT-2"}) are not supported yet`);
  }
  throw new Error(`No supported tokenizer in ${dir}: expected tokenizer.json (WordPiece) or vocab.txt`);
}

/** transformers-style entry point: `await AutoTokenizer.fromPretrained(dir)`. */
export const AutoTokenizer = {
  fromPretrained: loadTokenizer,
};
