/**
 * RoBERTa's byte-level BPE tokenizer, loaded from a model folder: tokenizer.json when present (the
 * fast tokenizer's description), else vocab.json + merges.txt + tokenizer_config.json (the slow
 * RobertaTokenizer's files). Both give Hugging Face's ids. Where transformers' slow and fast
 * tokenizers differ, we follow the file that was loaded:
 * - add_prefix_space: the slow tokenizer puts one space before the whole text unless it starts
 *   with whitespace (Python's isspace); tokenizers puts one before every segment between added
 *   tokens that does not start with " ".
 * - Merges: the slow tokenizer skips merges.txt's first line whatever it holds; we skip it only
 *   when it is the "#version" header (as tokenizers does), which every real file has.
 * Lone surrogates are encoded as U+FFFD (Python's slow tokenizer would raise UnicodeEncodeError).
 */
import { readTokenizerJson } from "../io/tokenizer-json-cache.js";
import { resolveModelFolder, type ResolveOptions } from "../io/hub.js";
import { readModelText } from "../io/model-files.js";
import { fileExists as existsSync, join, openModelFolder } from "../io/host.js";
import { checkFolder, completeFolder, readFolderConfig, readJson, type TokenizerFolderConfig } from "./bert-tokenizer.js";
import { ByteLevelDecoder, createDecoder } from "./decoders/index.js";
import { Bpe, createModel, parseMerges, vocabFromObject, type Vocab } from "./models/index.js";
import { createNormalizer } from "./normalizers/index.js";
import { createPostProcessor, RobertaProcessing, type TokenSequence } from "./post-processors/index.js";
import { ByteLevelPreTokenizer, createPreTokenizer } from "./pre-tokenizers/index.js";
import { PYTHON_SPACE } from "./unicode.js";
import type { AddedToken } from "./added-tokens.js";
import { addedTokensFromJson, checkTokenizerJson, type TokenizerJson } from "./tokenizer-json.js";
import { Tokenizer, type SpecialTokenNames, type TokenizerParts } from "./tokenizer.js";

/** Which files to load from: "auto" prefers tokenizer.json. */
export type RobertaTokenizerSource = "auto" | "tokenizer.json" | "vocab.json";

export interface RobertaFromPretrainedOptions {
  source?: RobertaTokenizerSource;
  /** How a hub id (`org/name`) is found: models dir, Hugging Face cache, hub. */
  resolve?: ResolveOptions;
}

const ROBERTA_DEFAULT_SPECIALS = {
  bos: "<s>",
  eos: "</s>",
  sep: "</s>",
  cls: "<s>",
  unk: "<unk>",
  pad: "<pad>",
  mask: "<mask>",
} as const;

type SpecialKey = keyof typeof ROBERTA_DEFAULT_SPECIALS;
type SpecialTokenValue = string | { content: string; lstrip?: boolean; rstrip?: boolean; single_word?: boolean };

export class RobertaTokenizer extends Tokenizer {
  /** Where it was loaded from. */
  readonly source: "tokenizer.json" | "vocab.json";
  /** The slow tokenizer's add_prefix_space (one space before the whole text). */
  private readonly prefixText: boolean;

  constructor(parts: TokenizerParts, source: "tokenizer.json" | "vocab.json", prefixText = false) {
    super(parts);
    this.source = source;
    this.prefixText = prefixText;
  }

  /** Loads the tokenizer of a model folder (tokenizer.json, else vocab.json + merges.txt). */
  static async fromPretrained(nameOrPath: string, options: RobertaFromPretrainedOptions = {}): Promise<RobertaTokenizer> {
    const dir = await openModelFolder(await resolveModelFolder(nameOrPath, { ...options.resolve, tokenizerOnly: true }));
    const source = options.source ?? "auto";
    await checkFolder(dir);
    const folder = await readFolderConfig(dir);
    const jsonPath = join(dir, "tokenizer.json");
    if (source === "tokenizer.json" || (source === "auto" && existsSync(jsonPath))) {
      return withPath(jsonPath, async () => RobertaTokenizer.fromTokenizerJson(await readTokenizerJson(jsonPath), folder, jsonPath));
    }
    const vocabPath = join(dir, "vocab.json");
    const mergesPath = join(dir, "merges.txt");
    if (!existsSync(vocabPath) || !existsSync(mergesPath)) {
      throw new Error(`No RoBERTa tokenizer in ${dir}: expected tokenizer.json, or vocab.json and merges.txt`);
    }
    const vocab = await withPath(vocabPath, async () => vocabFromObject(await readJson<Record<string, number>>(vocabPath, true), vocabPath));
    const merges = await withPath(mergesPath, async () => parseMerges(await readText(mergesPath), mergesPath));
    return withPath(vocabPath, async () => RobertaTokenizer.fromVocabAndMerges(vocab, merges, folder));
  }

  /** The fast tokenizer's description (tokenizer.json); its baked-in truncation/padding are ignored. */
  static fromTokenizerJson(json: TokenizerJson, folder: Partial<TokenizerFolderConfig> = {}, source = "tokenizer.json"): RobertaTokenizer {
    checkTokenizerJson(json, source);
    const model = createModel(json.model, source);
    const addedTokens = addedTokensFromJson(json.added_tokens);
    const config = completeFolder(folder);
    return new RobertaTokenizer(
      {
        normalizer: createNormalizer(json.normalizer),
        preTokenizer: createPreTokenizer(json.pre_tokenizer),
        model,
        postProcessor: createPostProcessor(json.post_processor, source),
        decoder: createDecoder(json.decoder),
        addedTokens,
        specialTokens: specialTokenNames(config).names,
        modelMaxLength: modelMaxLength(config),
        cleanUpTokenizationSpaces: config.tokenizerConfig.clean_up_tokenization_spaces ?? true,
      },
      "tokenizer.json",
    );
  }

  /** The slow RobertaTokenizer's files: vocab.json, merges.txt, plus tokenizer_config.json / special_tokens_map.json. */
  static fromVocabAndMerges(vocab: Vocab, merges: readonly (readonly [string, string])[], folder: Partial<TokenizerFolderConfig> = {}): RobertaTokenizer {
    const config = completeFolder(folder);
    const tc = config.tokenizerConfig;
    const { names, attributes } = specialTokenNames(config);
    // Special tokens missing from vocab.json get ids after it, as transformers adds them.
    let nextId = vocab.tokenToId.idCount;
    const addedTokens: AddedToken[] = [];
    const seen = new Set<string>();
    const add = (content: string, special: boolean, id: number | undefined, extra: Partial<AddedToken> = {}): void => {
      if (seen.has(content) || content.length === 0) return;
      seen.add(content);
      // The slow tokenizer matches every added token in the raw text.
      addedTokens.push({ id: id ?? vocab.tokenToId.get(content) ?? nextId++, content, special, lstrip: false, rstrip: false, singleWord: false, ...extra, normalized: false });
    };
    for (const [id, t] of Object.entries(tc.added_tokens_decoder ?? {})) {
      add(t.content, t.special ?? false, Number(id), { lstrip: t.lstrip ?? false, rstrip: t.rstrip ?? false, singleWord: t.single_word ?? false });
    }
    for (const [key, name] of Object.entries(names) as [string, string | string[] | undefined][]) {
      if (typeof name === "string") add(name, true, undefined, attributes.get(key) ?? {});
      else if (Array.isArray(name)) for (const n of name) add(n, true, undefined);
    }
    for (const [content, id] of Object.entries(config.addedTokensJson ?? {})) add(content, false, id);

    const unk = names.unk !== undefined && vocab.tokenToId.has(names.unk) ? names.unk : null;
    const clsId = requireId(names.cls, vocab, addedTokens, "cls_token");
    const sepId = requireId(names.sep, vocab, addedTokens, "sep_token");
    const addPrefixSpace = typeof tc.add_prefix_space === "boolean" ? tc.add_prefix_space : false;
    const trimOffsets = typeof tc.trim_offsets === "boolean" ? tc.trim_offsets : true;
    return new RobertaTokenizer(
      {
        normalizer: null,
        preTokenizer: new ByteLevelPreTokenizer({ addPrefixSpace: false, useRegex: true }),
        model: new Bpe(vocab, merges, { unkToken: unk, fuseUnk: false, ignoreMerges: false }),
        postProcessor: new RobertaProcessing(clsId, sepId, trimOffsets, addPrefixSpace),
        decoder: new ByteLevelDecoder(),
        addedTokens,
        specialTokens: names,
        modelMaxLength: modelMaxLength(config),
        cleanUpTokenizationSpaces: tc.clean_up_tokenization_spaces ?? true,
      },
      "vocab.json",
      addPrefixSpace,
    );
  }

  /** The slow tokenizer's add_prefix_space: " " before the text, offsets shifted back onto the original. */
  protected override encodeText(text: string, idsOnly = false): TokenSequence {
    if (!this.prefixText || text.length === 0 || PYTHON_SPACE.test(text)) return super.encodeText(text, idsOnly);
    const seq = super.encodeText(" " + text, idsOnly);
    for (let k = 0; k < seq.offsets.length; k++) seq.offsets[k] = Math.max(0, seq.offsets[k] - 1);
    return seq;
  }
}

function contentOf(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "object" && value !== null && typeof (value as { content?: unknown }).content === "string") return (value as { content: string }).content;
  return undefined;
}

/**
 * Special token names (special_tokens_map.json over tokenizer_config.json over RoBERTa's defaults),
 * and the AddedToken attributes given with them (mask's lstrip: true by default, as RobertaTokenizer
 * makes "<mask>" absorb the space before it).
 */
function specialTokenNames(config: TokenizerFolderConfig): { names: SpecialTokenNames; attributes: Map<string, Partial<AddedToken>> } {
  const attributes = new Map<string, Partial<AddedToken>>([["mask", { lstrip: true }]]);
  const read = (key: SpecialKey): string => {
    const value = (config.specialTokensMap[`${key}_token`] ?? config.tokenizerConfig[`${key}_token`]) as SpecialTokenValue | undefined;
    if (typeof value === "object" && value !== null && !Array.isArray(value)) {
      attributes.set(key, { lstrip: value.lstrip ?? false, rstrip: value.rstrip ?? false, singleWord: value.single_word ?? false });
    }
    return contentOf(value) ?? ROBERTA_DEFAULT_SPECIALS[key];
  };
  const additionalRaw = config.specialTokensMap.additional_special_tokens ?? config.tokenizerConfig.additional_special_tokens;
  const additional = Array.isArray(additionalRaw) ? additionalRaw.map(contentOf).filter((v): v is string => v !== undefined) : [];
  const names: SpecialTokenNames = {
    bos: read("bos"),
    eos: read("eos"),
    sep: read("sep"),
    cls: read("cls"),
    unk: read("unk"),
    pad: read("pad"),
    mask: read("mask"),
    additional,
  };
  return { names, attributes };
}

function requireId(name: string | undefined, vocab: Vocab, added: readonly AddedToken[], what: string): number {
  if (name === undefined) throw new Error(`The tokenizer has no ${what}`);
  const id = vocab.tokenToId.get(name) ?? added.find((t) => t.content === name)?.id;
  if (id === undefined) throw new Error(`The ${what} ${JSON.stringify(name)} is not in the vocabulary`);
  return id;
}

/** tokenizer_config's model_max_length; else the model's positions minus RoBERTa's offset of 2, else 512. */
function modelMaxLength(config: TokenizerFolderConfig): number {
  const m = config.tokenizerConfig.model_max_length;
  if (typeof m === "number" && Number.isInteger(m) && m > 0 && m < 1e9) return m;
  return config.maxPositionEmbeddings !== undefined && config.maxPositionEmbeddings > 2 ? config.maxPositionEmbeddings - 2 : 512;
}

async function readText(path: string): Promise<string> {
  return readModelText(path);
}

/** Runs f; errors name the file they came from. */
async function withPath<T>(path: string, f: () => Promise<T>): Promise<T> {
  try {
    return await f();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(message.includes(path) ? message : `${path}: ${message}`);
  }
}
