/**
 * Picks the tokenizer class a model folder needs: BERT's WordPiece (tokenizer.json with a WordPiece
 * model, or vocab.txt) or RoBERTa's byte-level BPE (tokenizer.json with a BPE model, vocab.json +
 * merges.txt, or tokenizer_config's tokenizer_class RobertaTokenizer[Fast]).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { BertTokenizer, readFolderConfig, readJson, type TokenizerSource } from "./bert-tokenizer.js";
import { RobertaTokenizer } from "./roberta-tokenizer.js";
import type { TokenizerJson } from "./tokenizer-json.js";
import type { Tokenizer } from "./tokenizer.js";

export interface LoadTokenizerOptions {
  /** "auto" prefers tokenizer.json; "vocab.txt" / "vocab.json" ask for the slow tokenizer's files. */
  source?: TokenizerSource | "vocab.json";
}

export async function loadTokenizer(dir: string, options: LoadTokenizerOptions = {}): Promise<Tokenizer> {
  if (!existsSync(dir)) throw new Error(`Model folder not found: ${dir}`);
  const source = options.source ?? "auto";
  const slowFiles = source === "vocab.txt" || source === "vocab.json";
  const jsonPath = join(dir, "tokenizer.json");
  const hasBpeFiles = existsSync(join(dir, "merges.txt")) && existsSync(join(dir, "vocab.json"));
  if (existsSync(jsonPath) && !slowFiles) {
    const json = await readJson<TokenizerJson>(jsonPath, true);
    const modelType = typeof json.model === "object" && json.model !== null ? json.model.type : undefined;
    if (modelType !== "WordPiece" && modelType !== "BPE") {
      throw new Error(`${jsonPath}: model type ${JSON.stringify(modelType)} is not supported (WordPiece and BPE are)`);
    }
    // The parsed file is handed on, not read again: it is most of a tokenizer's load time.
    const folder = await readFolderConfig(dir);
    try {
      return modelType === "WordPiece" ? BertTokenizer.fromTokenizerJson(json, folder, jsonPath) : RobertaTokenizer.fromTokenizerJson(json, folder, jsonPath);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new Error(message.includes(jsonPath) ? message : `${jsonPath}: ${message}`);
    }
  }
  const tokenizerClass = (await readFolderConfig(dir)).tokenizerConfig.tokenizer_class;
  const wantsRoberta = typeof tokenizerClass === "string" && tokenizerClass.startsWith("Roberta");
  if (existsSync(join(dir, "vocab.txt")) && !wantsRoberta && source !== "vocab.json") return BertTokenizer.fromPretrained(dir, { source: "vocab.txt" });
  if (hasBpeFiles) return RobertaTokenizer.fromPretrained(dir, { source: "vocab.json" });
  throw new Error(`No supported tokenizer in ${dir}: expected tokenizer.json, vocab.txt (WordPiece) or vocab.json + merges.txt (byte-level BPE)`);
}

/** transformers-style entry point: `await AutoTokenizer.fromPretrained(dir)`. */
export const AutoTokenizer = {
  fromPretrained: loadTokenizer,
};
