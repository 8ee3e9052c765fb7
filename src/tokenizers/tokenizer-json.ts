/**
 * The parts of Hugging Face's `tokenizer.json` (tokenizers library format, version "1.0") that we
 * read. Unknown stage types are kept as `{ type: string }` so the factories can name them in an error.
 */
import type { AddedToken } from "./added-tokens.js";

export interface AddedTokenJson {
  id: number;
  content: string;
  single_word?: boolean;
  lstrip?: boolean;
  rstrip?: boolean;
  /** true: matched in the normalized text; false: matched in the raw input. */
  normalized?: boolean;
  special?: boolean;
}

export interface BertNormalizerJson {
  type: "BertNormalizer";
  clean_text?: boolean;
  handle_chinese_chars?: boolean;
  /** null: follow `lowercase` (strip when lower-casing). */
  strip_accents?: boolean | null;
  lowercase?: boolean;
}

export interface UnknownStageJson {
  type: string;
  [key: string]: unknown;
}

export type NormalizerJson = BertNormalizerJson | UnknownStageJson;

export interface BertPreTokenizerJson {
  type: "BertPreTokenizer";
}
/** GPT-2/RoBERTa: split with GPT-2's pattern, then one printable char per UTF-8 byte. */
export interface ByteLevelPreTokenizerJson {
  type: "ByteLevel";
  add_prefix_space?: boolean;
  /** Used by the ByteLevel post-processor only. */
  trim_offsets?: boolean;
  use_regex?: boolean;
}
export type PreTokenizerJson = BertPreTokenizerJson | ByteLevelPreTokenizerJson | UnknownStageJson;

export interface WordPieceModelJson {
  type: "WordPiece";
  unk_token: string;
  continuing_subword_prefix?: string;
  max_input_chars_per_word?: number;
  vocab: Record<string, number>;
}
/** A BPE model (byte-level for GPT-2/RoBERTa). */
export interface BpeModelJson {
  type: "BPE";
  vocab: Record<string, number>;
  /** By rank: "a b" (older files) or ["a", "b"]. */
  merges: string[] | [string, string][];
  dropout?: number | null;
  unk_token?: string | null;
  continuing_subword_prefix?: string | null;
  end_of_word_suffix?: string | null;
  fuse_unk?: boolean;
  byte_fallback?: boolean;
  ignore_merges?: boolean;
}
export type ModelJson = WordPieceModelJson | BpeModelJson | UnknownStageJson;

export type TemplatePieceJson =
  | { SpecialToken: { id: string; type_id: number } }
  | { Sequence: { id: "A" | "B"; type_id: number } };

export interface TemplateProcessingJson {
  type: "TemplateProcessing";
  single: TemplatePieceJson[];
  pair: TemplatePieceJson[];
  special_tokens: Record<string, { id: string; ids: number[]; tokens: string[] }>;
}
export interface BertProcessingJson {
  type: "BertProcessing";
  /** [token, id] */
  sep: [string, number];
  cls: [string, number];
}
export interface RobertaProcessingJson {
  type: "RobertaProcessing";
  /** [token, id] */
  sep: [string, number];
  cls: [string, number];
  trim_offsets?: boolean;
  add_prefix_space?: boolean;
}
export type PostProcessorJson = TemplateProcessingJson | BertProcessingJson | RobertaProcessingJson | UnknownStageJson;

export interface WordPieceDecoderJson {
  type: "WordPiece";
  prefix?: string;
  cleanup?: boolean;
}
export interface ByteLevelDecoderJson {
  type: "ByteLevel";
}
export type DecoderJson = WordPieceDecoderJson | ByteLevelDecoderJson | UnknownStageJson;

export interface TokenizerJson {
  version?: string;
  /** Baked-in defaults; ignored, as transformers ignores them: truncation and padding are per call. */
  truncation?: unknown;
  padding?: unknown;
  added_tokens?: AddedTokenJson[];
  normalizer?: NormalizerJson | null;
  pre_tokenizer?: PreTokenizerJson | null;
  model: ModelJson;
  post_processor?: PostProcessorJson | null;
  decoder?: DecoderJson | null;
}

/** Rejects what is not a tokenizer.json at all, naming the file. */
export function checkTokenizerJson(json: TokenizerJson, source: string): void {
  if (typeof json !== "object" || json === null || typeof json.model !== "object" || json.model === null) {
    throw new Error(`${source}: not a tokenizer.json (no "model" object)`);
  }
}

/** tokenizer.json's added_tokens with the Rust library's defaults filled in. */
export function addedTokensFromJson(list: readonly AddedTokenJson[] | undefined): AddedToken[] {
  if (list !== undefined && list !== null && !Array.isArray(list)) throw new Error("added_tokens must be an array");
  (list ?? []).forEach((t, i) => {
    if (typeof t !== "object" || t === null) throw new Error(`added_tokens[${i}] is not an object`);
    if (!Number.isInteger(t.id) || t.id < 0) throw new Error(`added_tokens[${i}]: expected a non-negative integer "id" but received ${JSON.stringify(t.id)}`);
    if (typeof t.content !== "string" || t.content === "") throw new Error(`added_tokens[${i}]: expected a non-empty string "content" but received ${JSON.stringify(t.content)}`);
  });
  return (list ?? []).map((t) => ({
    id: t.id,
    content: t.content,
    special: t.special ?? false,
    normalized: t.normalized ?? !(t.special ?? false),
    lstrip: t.lstrip ?? false,
    rstrip: t.rstrip ?? false,
    singleWord: t.single_word ?? false,
  }));
}
