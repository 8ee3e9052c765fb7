/**
 * BERT's WordPiece tokenizer, loaded from a model folder: tokenizer.json when present (the fast
 * tokenizer's description), else vocab.txt + tokenizer_config.json + special_tokens_map.json (the
 * slow BertTokenizer's files). Both give Hugging Face's ids; the few places where transformers'
 * slow and fast BERT tokenizers themselves differ follow the file that was loaded:
 * - vocab.txt (slow): NFC before splitting when accents are kept.
 * - tokenizer.json (fast): no NFC.
 * Both clean-ups remove every category-C character (Cc, Cf, Cs, Co, Cn) but tab, newline and CR.
 */
import { readTokenizerJson } from "../io/tokenizer-json-cache.js";
import { parseJsonObject, readModelTextIfExists } from "../io/model-files.js";
import { fileExists as existsSync, fileKind, join, openModelFolder } from "../io/host.js";
import { createDecoder, WordPieceDecoder } from "./decoders/index.js";
import { createModel, loadVocabTxt, WordPiece, type Vocab } from "./models/index.js";
import { BertNormalizer, createNormalizer } from "./normalizers/index.js";
import { familyByName, layoutProcessor, tokenizerFamily, type TokenizerFamily } from "./families.js";
import { createPostProcessor } from "./post-processors/index.js";
import { BertPreTokenizer, createPreTokenizer } from "./pre-tokenizers/index.js";
import { resolveModelFolder, type ResolveOptions } from "../io/hub.js";
import type { WordPieceTableSpec } from "./accelerator.js";
import type { AddedToken } from "./added-tokens.js";
import { ASCII_FLAGS, PUNCTUATION, WHITESPACE } from "./unicode.js";
import { addedTokensFromJson, checkTokenizerJson, readSpecialTokens, type TokenizerJson } from "./tokenizer-json.js";
import { Tokenizer, type SpecialTokenNames, type TokenizerParts } from "./tokenizer.js";

/** Which files to load from: "auto" prefers tokenizer.json. */
export type TokenizerSource = "auto" | "tokenizer.json" | "vocab.txt";

export interface FromPretrainedOptions {
  source?: TokenizerSource;
  /** How a hub id (`org/name`) is found: models dir, Hugging Face cache, hub. */
  resolve?: ResolveOptions;
}

/** tokenizer_config.json keys we use (transformers' names). */
export interface TokenizerConfigJson {
  tokenizer_class?: string;
  do_lower_case?: boolean;
  strip_accents?: boolean | null;
  tokenize_chinese_chars?: boolean;
  do_basic_tokenize?: boolean;
  never_split?: string[] | null;
  model_max_length?: number;
  clean_up_tokenization_spaces?: boolean;
  added_tokens_decoder?: Record<string, { content: string; lstrip?: boolean; rstrip?: boolean; normalized?: boolean; single_word?: boolean; special?: boolean }>;
  [key: string]: unknown;
}

type SpecialTokenValue = string | { content: string };

/** What a model folder holds besides the vocabulary. */
export interface TokenizerFolderConfig {
  tokenizerConfig: TokenizerConfigJson;
  specialTokensMap: Record<string, SpecialTokenValue | SpecialTokenValue[]>;
  /** config.json's max_position_embeddings, the fallback for model_max_length. */
  maxPositionEmbeddings?: number;
  /** config.json's model_type (picks the tokenizer class when tokenizer_config.json names none). */
  modelType?: string;
  /** added_tokens.json (old transformers format): token → id. */
  addedTokensJson?: Record<string, number>;
}

const BERT_DEFAULT_SPECIALS: Required<Pick<SpecialTokenNames, "unk" | "sep" | "pad" | "cls" | "mask">> = {
  unk: "[UNK]",
  sep: "[SEP]",
  pad: "[PAD]",
  cls: "[CLS]",
  mask: "[MASK]",
};

export class BertTokenizer extends Tokenizer {
  /** Where it was loaded from. */
  readonly source: "tokenizer.json" | "vocab.txt";

  constructor(parts: TokenizerParts, source: "tokenizer.json" | "vocab.txt") {
    super(parts);
    this.source = source;
  }

  /**
   * What a WordPiece accelerator (Tokenizer.useWordPieceAccelerator) needs to split words exactly
   * as this tokenizer does, when its words go through BertPreTokenizer + WordPiece (the normalizer
   * and added tokens stay in JavaScript, in front of it); null for any other pipeline.
   */
  wordPieceTableSpec(): WordPieceTableSpec | null {
    const { preTokenizer, model } = this.parts;
    if (!(preTokenizer instanceof BertPreTokenizer) || !(model instanceof WordPiece)) return null;
    const { chars, starts, ids } = model.tokenTable.arrays;
    const asciiClasses = new Uint8Array(128);
    for (let c = 0; c < 128; c++) asciiClasses[c] = (ASCII_FLAGS[c] & WHITESPACE) !== 0 ? 1 : (ASCII_FLAGS[c] & PUNCTUATION) !== 0 ? 2 : 0;
    return {
      chars,
      starts,
      ids,
      asciiClasses,
      unkId: model.unkId,
      continuingSubwordPrefix: model.options.continuingSubwordPrefix,
      maxInputCharsPerWord: model.options.maxInputCharsPerWord,
      preTokenizerNeverSplit: [...preTokenizer.neverSplit],
      modelNeverSplit: [...(model.options.neverSplit ?? [])],
    };
  }

  /** Loads the tokenizer of a model folder (tokenizer.json, else vocab.txt). */
  static async fromPretrained(nameOrPath: string, options: FromPretrainedOptions = {}): Promise<BertTokenizer> {
    const dir = await openModelFolder(await resolveModelFolder(nameOrPath, { ...options.resolve, tokenizerOnly: true }));
    const source = options.source ?? "auto";
    await checkFolder(dir);
    const folder = await readFolderConfig(dir);
    const jsonPath = join(dir, "tokenizer.json");
    const vocabPath = join(dir, "vocab.txt");
    if (source === "tokenizer.json" || (source === "auto" && existsSync(jsonPath))) {
      const json = await readTokenizerJson(jsonPath);
      try {
        return BertTokenizer.fromTokenizerJson(json, folder, jsonPath);
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        throw new Error(message.includes(jsonPath) ? message : `${jsonPath}: ${message}`);
      }
    }
    if (!existsSync(vocabPath)) {
      throw new Error(`No BERT tokenizer in ${dir}: expected tokenizer.json or vocab.txt`);
    }
    const vocab = await loadVocabTxt(vocabPath);
    try {
      return BertTokenizer.fromVocab(vocab, folder);
    } catch (err) {
      throw new Error(`${vocabPath}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /** The fast tokenizer's description (tokenizer.json); its baked-in truncation/padding are ignored. */
  static fromTokenizerJson(json: TokenizerJson, folder: Partial<TokenizerFolderConfig> = {}, source = "tokenizer.json"): BertTokenizer {
    checkTokenizerJson(json, source);
    const model = createModel(json.model, source);
    const addedTokens = addedTokensFromJson(json.added_tokens);
    const config = completeFolder(folder);
    const family = wordPieceFamily(config);
    const unkFromModel = json.model.type === "WordPiece" && typeof json.model.unk_token === "string" ? json.model.unk_token : undefined;
    const specialTokens = specialTokenNames(config, family, (t) => model.tokenToId(t) !== undefined || addedTokens.some((a) => a.content === t), unkFromModel);
    return new BertTokenizer(
      {
        normalizer: createNormalizer(json.normalizer),
        preTokenizer: createPreTokenizer(json.pre_tokenizer),
        model,
        postProcessor: createPostProcessor(json.post_processor, source),
        decoder: createDecoder(json.decoder),
        addedTokens,
        specialTokens,
        modelMaxLength: modelMaxLength(config),
        cleanUpTokenizationSpaces: config.tokenizerConfig.clean_up_tokenization_spaces ?? true,
        returnTokenTypeIds: family.tokenTypeIds,
      },
      "tokenizer.json",
    );
  }

  /** The slow BertTokenizer's files: vocab.txt plus tokenizer_config.json / special_tokens_map.json. */
  static fromVocab(vocab: Vocab, folder: Partial<TokenizerFolderConfig> = {}): BertTokenizer {
    const config = completeFolder(folder);
    const tc = config.tokenizerConfig;
    const family = wordPieceFamily(config);
    const specialTokens = specialTokenNames(config, family, () => true);
    // Special tokens missing from vocab.txt get ids after it, as transformers adds them.
    let nextId = vocab.tokenToId.idCount;
    const addedTokens: AddedToken[] = [];
    const seen = new Set<string>();
    const addToken = (content: string, special: boolean, id?: number, extra: Partial<AddedToken> = {}): void => {
      if (seen.has(content)) return;
      seen.add(content);
      addedTokens.push({
        id: id ?? vocab.tokenToId.get(content) ?? nextId++,
        content,
        special,
        normalized: false,
        lstrip: false,
        rstrip: false,
        singleWord: false,
        ...extra,
      });
    };
    for (const [id, t] of Object.entries(tc.added_tokens_decoder ?? {})) {
      addToken(t.content, t.special ?? false, Number(id), {
        lstrip: t.lstrip ?? false,
        rstrip: t.rstrip ?? false,
        singleWord: t.single_word ?? false,
        // The slow tokenizer matches special tokens in the raw text.
        normalized: (t.special ?? false) ? false : (t.normalized ?? true),
      });
    }
    const attributes = readSpecialTokens(config, family).attributes;
    for (const [key, name] of Object.entries(specialTokens)) if (typeof name === "string") addToken(name, true, undefined, attributes.get(key) ?? {});
    for (const name of specialTokens.additional ?? []) addToken(name, true);
    for (const [content, id] of Object.entries(config.addedTokensJson ?? {})) addToken(content, false, id, { normalized: true });

    const unk = specialTokens.unk ?? BERT_DEFAULT_SPECIALS.unk;
    const lowercase = tc.do_lower_case ?? true;
    const neverSplit = new Set<string>([...(tc.never_split ?? []), ...allSpecialNames(specialTokens)]);
    const model = new WordPiece(vocab, {
      unkToken: unk,
      continuingSubwordPrefix: "##",
      maxInputCharsPerWord: 100,
      neverSplit: new Set(tc.never_split ?? []),
    });
    const clsId = tokenId(specialTokens.cls, vocab, addedTokens, "cls_token");
    const sepId = tokenId(specialTokens.sep, vocab, addedTokens, "sep_token");
    return new BertTokenizer(
      {
        normalizer: new BertNormalizer({
          cleanText: true,
          handleChineseChars: tc.tokenize_chinese_chars ?? true,
          lowercase,
          stripAccents: tc.strip_accents ?? null,
          composeNfc: true,
        }),
        preTokenizer: new BertPreTokenizer(neverSplit),
        model,
        postProcessor: layoutProcessor(family, clsId, sepId),
        decoder: new WordPieceDecoder("##", false),
        addedTokens,
        specialTokens,
        modelMaxLength: modelMaxLength(config),
        cleanUpTokenizationSpaces: tc.clean_up_tokenization_spaces ?? true,
        returnTokenTypeIds: family.tokenTypeIds,
      },
      "vocab.txt",
    );
  }
}

/**
 * The WordPiece class a folder names (BERT, DistilBERT, ELECTRA, MPNet); BERT's when it names none
 * of them or one we do not know (as before: such folders load as BERT).
 */
function wordPieceFamily(config: TokenizerFolderConfig): TokenizerFamily {
  let family: TokenizerFamily | undefined;
  try {
    family = tokenizerFamily(config.tokenizerConfig.tokenizer_class, config.modelType, "tokenizer_config.json");
  } catch {
    family = undefined;
  }
  const wordPiece = ["BertTokenizer", "DistilBertTokenizer", "ElectraTokenizer", "MPNetTokenizer"];
  return family !== undefined && wordPiece.includes(family.className) ? family : familyByName("BertTokenizer");
}

function tokenId(name: string | undefined, vocab: Vocab, added: readonly AddedToken[], what: string): number {
  if (name === undefined) throw new Error(`The tokenizer has no ${what}`);
  const id = vocab.tokenToId.get(name) ?? added.find((t) => t.content === name)?.id;
  if (id === undefined) throw new Error(`The ${what} ${JSON.stringify(name)} is not in the vocabulary`);
  return id;
}

function allSpecialNames(s: SpecialTokenNames): string[] {
  const names = [s.unk, s.sep, s.pad, s.cls, s.mask, s.bos, s.eos, ...(s.additional ?? [])];
  return names.filter((n): n is string => typeof n === "string");
}

function contentOf(value: SpecialTokenValue | undefined): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "object" && value !== null && typeof value.content === "string") return value.content;
  return undefined;
}

/**
 * Special token names: special_tokens_map.json over tokenizer_config.json over the class's defaults
 * (BERT's, or MPNet's <s> </s> <pad> <mask>; a default is used only if the vocabulary has it).
 */
function specialTokenNames(config: TokenizerFolderConfig, family: TokenizerFamily, exists: (token: string) => boolean, unkFromModel?: string): SpecialTokenNames {
  const defaults = family.specials;
  const read = (key: string): string | undefined => {
    const fromMap = config.specialTokensMap[key];
    if (fromMap !== undefined && !Array.isArray(fromMap)) return contentOf(fromMap);
    const fromConfig = config.tokenizerConfig[key];
    if (typeof fromConfig === "string" || (typeof fromConfig === "object" && fromConfig !== null && !Array.isArray(fromConfig))) {
      return contentOf(fromConfig as SpecialTokenValue);
    }
    return undefined;
  };
  const withDefault = (key: string, fallback: string): string | undefined => read(key) ?? (exists(fallback) ? fallback : undefined);
  const additionalRaw = config.specialTokensMap.additional_special_tokens ?? config.tokenizerConfig.additional_special_tokens;
  const additional = Array.isArray(additionalRaw)
    ? additionalRaw.map((v) => contentOf(v as SpecialTokenValue)).filter((v): v is string => v !== undefined)
    : [];
  return {
    unk: read("unk_token") ?? unkFromModel ?? defaults.unk,
    sep: withDefault("sep_token", defaults.sep),
    pad: withDefault("pad_token", defaults.pad),
    cls: withDefault("cls_token", defaults.cls),
    mask: withDefault("mask_token", defaults.mask),
    bos: read("bos_token"),
    eos: read("eos_token"),
    additional,
  };
}

/** tokenizer_config's model_max_length; transformers' "no limit" (1e30) and absence fall back to the model's positions, else 512. */
function modelMaxLength(config: TokenizerFolderConfig): number {
  const m = config.tokenizerConfig.model_max_length;
  if (typeof m === "number" && Number.isInteger(m) && m > 0 && m < 1e9) return m;
  return config.maxPositionEmbeddings ?? 512;
}

/** Fills what a folder lacks with empty configs (shared with RobertaTokenizer). */
export function completeFolder(folder: Partial<TokenizerFolderConfig>): TokenizerFolderConfig {
  return {
    tokenizerConfig: folder.tokenizerConfig ?? {},
    specialTokensMap: folder.specialTokensMap ?? {},
    maxPositionEmbeddings: folder.maxPositionEmbeddings,
    modelType: folder.modelType,
    addedTokensJson: folder.addedTokensJson,
  };
}

export async function checkFolder(dir: string): Promise<void> {
  const kind = await fileKind(dir);
  if (kind === null) throw new Error(`Model folder not found: ${dir}`);
  if (kind !== "folder") throw new Error(`Not a model folder (not a directory): ${dir}`);
}

/** Reads the optional JSON files of a model folder (errors name the file that is malformed). */
export async function readFolderConfig(dir: string): Promise<TokenizerFolderConfig> {
  const tokenizerConfig = (await readJson<TokenizerConfigJson>(join(dir, "tokenizer_config.json"), false)) ?? {};
  const specialTokensMap = (await readJson<Record<string, SpecialTokenValue>>(join(dir, "special_tokens_map.json"), false)) ?? {};
  const modelConfig = await readJson<{ max_position_embeddings?: number; model_type?: unknown }>(join(dir, "config.json"), false);
  const addedTokensJson = await readJson<Record<string, number>>(join(dir, "added_tokens.json"), false);
  const mpe = modelConfig?.max_position_embeddings;
  return {
    tokenizerConfig,
    specialTokensMap,
    maxPositionEmbeddings: typeof mpe === "number" && mpe > 0 ? mpe : undefined,
    modelType: typeof modelConfig?.model_type === "string" ? modelConfig.model_type : undefined,
    addedTokensJson: addedTokensJson ?? undefined,
  };
}

export async function readJson<T>(path: string, required: true): Promise<T>;
export async function readJson<T>(path: string, required: false): Promise<T | null>;
export async function readJson<T>(path: string, required: boolean): Promise<T | null> {
  const text = await readModelTextIfExists(path);
  if (text === null) {
    if (!required) return null;
    throw new Error(`Cannot read ${path}: file not found`);
  }
  return parseJsonObject(text, path) as T;
}
