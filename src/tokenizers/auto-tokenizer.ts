/**
 * Picks the tokenizer class a model folder needs. tokenizer.json, when present, says which model
 * it holds: WordPiece (BERT, DistilBERT, ELECTRA, MPNet), byte-level BPE (RoBERTa) or Unigram
 * (XLM-R, CamemBERT, ALBERT). Without it, the slow tokenizer's files: a SentencePiece `.model`,
 * vocab.txt, or vocab.json + merges.txt. The class (special tokens, token types, pair layout)
 * comes from tokenizer_config.json's tokenizer_class, else config.json's model_type.
 */
import { readTokenizerJson } from "../io/tokenizer-json-cache.js";
import { traceLoad } from "../io/load-trace.js";
import { fileExists as existsSync, join, openModelFolder } from "../io/host.js";
import { resolveModelFolder, type ResolveOptions } from "../io/hub.js";
import { BertTokenizer, readFolderConfig, readJson, type TokenizerSource } from "./bert-tokenizer.js";
import { familyByName, tokenizerFamily } from "./families.js";
import { RobertaTokenizer } from "./roberta-tokenizer.js";
import { SENTENCEPIECE_FILES, SentencePieceTokenizer } from "./sentencepiece-tokenizer.js";
import type { TokenizerJson } from "./tokenizer-json.js";
import type { Tokenizer } from "./tokenizer.js";

export interface LoadTokenizerOptions {
  /**
   * "auto" prefers tokenizer.json; "vocab.txt" / "vocab.json" / "sentencepiece" ask for the slow
   * tokenizer's files (vocab.txt, vocab.json + merges.txt, the `.model` file).
   */
  source?: TokenizerSource | "vocab.json" | "sentencepiece";
  /** How a hub id (`org/name`) is found: models dir, Hugging Face cache, hub. */
  resolve?: ResolveOptions;
}

const SENTENCEPIECE_CLASSES = ["XLMRobertaTokenizer", "CamembertTokenizer", "AlbertTokenizer"];

/** A folder's tokenizer, or a hub id's (`org/name`, found as models are: BERT_TS_MODELS, HF cache, hub). */
export async function loadTokenizer(nameOrPath: string, options: LoadTokenizerOptions = {}): Promise<Tokenizer> {
  const dir = await openModelFolder(await resolveModelFolder(nameOrPath, { ...options.resolve, tokenizerOnly: true }));
  if (!existsSync(dir)) throw new Error(`Model folder not found: ${dir}`);
  const source = options.source ?? "auto";
  const slowFiles = source === "vocab.txt" || source === "vocab.json" || source === "sentencepiece";
  const jsonPath = join(dir, "tokenizer.json");
  const folder = await readFolderConfig(dir);
  const family = tokenizerFamily(folder.tokenizerConfig.tokenizer_class, folder.modelType, join(dir, "tokenizer_config.json"));
  if ((existsSync(jsonPath) && !slowFiles) || source === "tokenizer.json") {
    const json = await readTokenizerJson(jsonPath);
    traceLoad("tokenizer.json read");
    const modelType = typeof json.model === "object" && json.model !== null ? json.model.type : undefined;
    try {
      // The parsed file is handed on, not read again: it is most of a tokenizer's load time.
      if (modelType === "WordPiece") return BertTokenizer.fromTokenizerJson(json, folder, jsonPath);
      if (modelType === "BPE") return RobertaTokenizer.fromTokenizerJson(json, folder, jsonPath);
      if (modelType === "Unigram") {
        const spFamily = family !== undefined && SENTENCEPIECE_CLASSES.includes(family.className) ? family : familyByName("XLMRobertaTokenizer");
        return SentencePieceTokenizer.fromTokenizerJson(json, folder, jsonPath, spFamily);
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      throw new Error(message.includes(jsonPath) ? message : `${jsonPath}: ${message}`);
    }
    throw new Error(`${jsonPath}: model type ${JSON.stringify(modelType)} is not supported (WordPiece, BPE and Unigram are)`);
  }
  const hasModelFile = SENTENCEPIECE_FILES.some((f) => existsSync(join(dir, f)));
  const wantsSentencePiece = family !== undefined && SENTENCEPIECE_CLASSES.includes(family.className);
  if (hasModelFile && (wantsSentencePiece || source === "sentencepiece" || family === undefined)) return SentencePieceTokenizer.fromPretrained(dir, { source: "sentencepiece" });
  const wantsRoberta = family?.className === "RobertaTokenizer";
  const hasBpeFiles = existsSync(join(dir, "merges.txt")) && existsSync(join(dir, "vocab.json"));
  if (existsSync(join(dir, "vocab.txt")) && !wantsRoberta && source !== "vocab.json") return BertTokenizer.fromPretrained(dir, { source: "vocab.txt" });
  if (hasBpeFiles) return RobertaTokenizer.fromPretrained(dir, { source: "vocab.json" });
  throw new Error(
    `No supported tokenizer in ${dir}: expected tokenizer.json, vocab.txt (WordPiece), vocab.json + merges.txt (byte-level BPE) or ${SENTENCEPIECE_FILES.join(" / ")} (SentencePiece)`,
  );
}

/** transformers-style entry point: `await AutoTokenizer.fromPretrained(dir)`. */
export const AutoTokenizer = {
  fromPretrained: loadTokenizer,
};
