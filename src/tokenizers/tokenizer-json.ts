/**
 * The parts of Hugging Face's `tokenizer.json` (tokenizers library format, version "1.0") that we
 * read. Unknown stage types are kept as `{ type: string }` so the factories can name them in an error.
 * partsFromTokenizerJson builds a tokenizer's stages from such a file (shared by every class).
 */
import type { AddedToken } from "./added-tokens.js";
import type { TokenizerFolderConfig } from "./bert-tokenizer.js";
import { createDecoder } from "./decoders/index.js";
import { modelMaxLength, type TokenizerFamily } from "./families.js";
import { createModel } from "./models/index.js";
import { createNormalizer } from "./normalizers/index.js";
import { createPostProcessor } from "./post-processors/index.js";
import { createPreTokenizer } from "./pre-tokenizers/index.js";
import type { SpecialTokenNames, TokenizerParts } from "./tokenizer.js";

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

/** SentencePiece's charsmap, base64 (tokenizers' Precompiled). */
export interface PrecompiledJson {
  type: "Precompiled";
  precompiled_charsmap: string | null;
}
export interface ReplaceJson {
  type: "Replace";
  pattern: { String: string } | { Regex: string };
  content: string;
}
export interface StripJson {
  type: "Strip";
  strip_left?: boolean;
  strip_right?: boolean;
}
export interface SequenceNormalizerJson {
  type: "Sequence";
  normalizers: NormalizerJson[];
}

export type NormalizerJson = BertNormalizerJson | PrecompiledJson | ReplaceJson | StripJson | SequenceNormalizerJson | UnknownStageJson;

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
/** SentencePiece-style "▁" words. Older files have add_prefix_space instead of prepend_scheme. */
export interface MetaspaceJson {
  type: "Metaspace";
  replacement?: string;
  add_prefix_space?: boolean;
  prepend_scheme?: "always" | "first" | "never";
  split?: boolean;
}
export interface SequencePreTokenizerJson {
  type: "Sequence";
  pretokenizers: PreTokenizerJson[];
}
export type PreTokenizerJson = BertPreTokenizerJson | ByteLevelPreTokenizerJson | MetaspaceJson | SequencePreTokenizerJson | UnknownStageJson;

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
/** SentencePiece's Unigram: [piece, score] in id order. */
export interface UnigramModelJson {
  type: "Unigram";
  unk_id: number | null;
  vocab: [string, number][];
  byte_fallback?: boolean;
}
export type ModelJson = WordPieceModelJson | BpeModelJson | UnigramModelJson | UnknownStageJson;

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
export interface MetaspaceDecoderJson {
  type: "Metaspace";
  replacement?: string;
  add_prefix_space?: boolean;
  prepend_scheme?: "always" | "first" | "never";
}
export type DecoderJson = WordPieceDecoderJson | ByteLevelDecoderJson | MetaspaceDecoderJson | UnknownStageJson;

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

/**
 * Special token names — special_tokens_map.json over tokenizer_config.json over the family's
 * defaults — and the AddedToken attributes given with them (the family's mask lstrip unless the
 * files say otherwise).
 */
export function readSpecialTokens(config: TokenizerFolderConfig, family: TokenizerFamily): { names: SpecialTokenNames; attributes: Map<string, Partial<AddedToken>> } {
  const attributes = new Map<string, Partial<AddedToken>>();
  if (family.maskLstrip) attributes.set("mask", { lstrip: true });
  const read = (key: keyof TokenizerFamily["specials"]): string => {
    const field = `${key}_token`;
    const value: unknown = Object.hasOwn(config.specialTokensMap, field)
      ? config.specialTokensMap[field]
      : Object.hasOwn(config.tokenizerConfig, field)
        ? config.tokenizerConfig[field]
        : undefined;
    if (typeof value === "string") return value;
    if (typeof value === "object" && value !== null && !Array.isArray(value) && typeof (value as { content?: unknown }).content === "string") {
      const v = value as { content: string; lstrip?: boolean; rstrip?: boolean; single_word?: boolean };
      attributes.set(key, { lstrip: v.lstrip ?? false, rstrip: v.rstrip ?? false, singleWord: v.single_word ?? false });
      return v.content;
    }
    return family.specials[key];
  };
  const additionalRaw = config.specialTokensMap.additional_special_tokens ?? config.tokenizerConfig.additional_special_tokens;
  const additional = Array.isArray(additionalRaw)
    ? additionalRaw.map((v: unknown) => (typeof v === "string" ? v : typeof v === "object" && v !== null ? (v as { content?: unknown }).content : undefined)).filter((v): v is string => typeof v === "string")
    : [];
  const names: SpecialTokenNames = {
    bos: read("bos"),
    eos: read("eos"),
    unk: read("unk"),
    sep: read("sep"),
    pad: read("pad"),
    cls: read("cls"),
    mask: read("mask"),
    additional,
  };
  return { names, attributes };
}

/**
 * A tokenizer as tokenizer.json describes it: every stage from the file, the added tokens from
 * its added_tokens, the special token names from the folder's files (the family's defaults), and
 * the family's token-type rule. The file's baked-in truncation/padding are ignored, as transformers
 * ignores them.
 */
export function partsFromTokenizerJson(json: TokenizerJson, config: TokenizerFolderConfig, source: string, family: TokenizerFamily): TokenizerParts {
  checkTokenizerJson(json, source);
  const model = createModel(json.model, source);
  const addedTokens = addedTokensFromJson(json.added_tokens);
  const names = readSpecialTokens(config, family).names;
  // A default name the vocabulary does not have is no special token of this tokenizer.
  const known = (t: string | undefined): string | undefined => (t !== undefined && (model.tokenToId(t) !== undefined || addedTokens.some((a) => a.content === t)) ? t : undefined);
  return {
    normalizer: createNormalizer(json.normalizer, source),
    preTokenizer: createPreTokenizer(json.pre_tokenizer),
    model,
    postProcessor: createPostProcessor(json.post_processor, source),
    decoder: createDecoder(json.decoder),
    addedTokens,
    specialTokens: { ...names, bos: known(names.bos), eos: known(names.eos), sep: known(names.sep), pad: known(names.pad), cls: known(names.cls), mask: known(names.mask) },
    modelMaxLength: modelMaxLength(config, family),
    cleanUpTokenizationSpaces: config.tokenizerConfig.clean_up_tokenization_spaces ?? true,
    returnTokenTypeIds: family.tokenTypeIds,
  };
}
