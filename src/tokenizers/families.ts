/**
 * What differs between transformers' tokenizer classes beyond their files: default special
 * tokens, whether they return token_type_ids (model_input_names), the pair layout of the slow
 * tokenizer, and `<mask>`'s lstrip. AutoTokenizer picks a family from tokenizer_config.json's
 * `tokenizer_class`, else config.json's `model_type`.
 */
import type { TokenizerFolderConfig } from "./bert-tokenizer.js";
import { TemplateProcessing, type PostProcessor, type TemplatePiece } from "./post-processors/index.js";
import type { SpecialTokenNames } from "./tokenizer.js";

export interface TokenizerFamily {
  /** transformers' slow class name. */
  className: string;
  specials: Required<Omit<SpecialTokenNames, "additional">>;
  /** model_input_names holds token_type_ids. */
  tokenTypeIds: boolean;
  /** Slow tokenizer's layout: "bert" [CLS] A [SEP] B [SEP] with types 0/1; "roberta" <s> A </s></s> B </s>. */
  layout: "bert" | "roberta";
  /** The mask token swallows the space before it (AddedToken(mask, lstrip=True)). */
  maskLstrip: boolean;
}

const BERT_SPECIALS = { unk: "[UNK]", sep: "[SEP]", pad: "[PAD]", cls: "[CLS]", mask: "[MASK]", bos: "[CLS]", eos: "[SEP]" };
const ROBERTA_SPECIALS = { unk: "<unk>", sep: "</s>", pad: "<pad>", cls: "<s>", mask: "<mask>", bos: "<s>", eos: "</s>" };

const FAMILIES: Record<string, TokenizerFamily> = {
  BertTokenizer: { className: "BertTokenizer", specials: BERT_SPECIALS, tokenTypeIds: true, layout: "bert", maskLstrip: false },
  ElectraTokenizer: { className: "ElectraTokenizer", specials: BERT_SPECIALS, tokenTypeIds: true, layout: "bert", maskLstrip: false },
  DistilBertTokenizer: { className: "DistilBertTokenizer", specials: BERT_SPECIALS, tokenTypeIds: false, layout: "bert", maskLstrip: false },
  MPNetTokenizer: { className: "MPNetTokenizer", specials: { ...ROBERTA_SPECIALS, unk: "[UNK]" }, tokenTypeIds: false, layout: "roberta", maskLstrip: true },
  RobertaTokenizer: { className: "RobertaTokenizer", specials: ROBERTA_SPECIALS, tokenTypeIds: false, layout: "roberta", maskLstrip: true },
  XLMRobertaTokenizer: { className: "XLMRobertaTokenizer", specials: ROBERTA_SPECIALS, tokenTypeIds: false, layout: "roberta", maskLstrip: true },
  CamembertTokenizer: { className: "CamembertTokenizer", specials: ROBERTA_SPECIALS, tokenTypeIds: false, layout: "roberta", maskLstrip: true },
  AlbertTokenizer: { className: "AlbertTokenizer", specials: { ...BERT_SPECIALS, unk: "<unk>", pad: "<pad>" }, tokenTypeIds: true, layout: "bert", maskLstrip: true },
};

/** config.json model_type → the tokenizer class transformers' AutoTokenizer maps it to. */
const MODEL_TYPES: Record<string, string> = {
  bert: "BertTokenizer",
  electra: "ElectraTokenizer",
  distilbert: "DistilBertTokenizer",
  mpnet: "MPNetTokenizer",
  roberta: "RobertaTokenizer",
  "xlm-roberta": "XLMRobertaTokenizer",
  camembert: "CamembertTokenizer",
  albert: "AlbertTokenizer",
};

/**
 * The family of a folder: tokenizer_class (with or without "Fast") first, then model_type.
 * An unknown tokenizer_class is an error naming it; neither given → undefined.
 */
export function tokenizerFamily(tokenizerClass: unknown, modelType: unknown, source: string): TokenizerFamily | undefined {
  if (typeof tokenizerClass === "string" && tokenizerClass.length > 0) {
    const name = tokenizerClass.endsWith("Fast") ? tokenizerClass.slice(0, -4) : tokenizerClass;
    if (Object.hasOwn(FAMILIES, name)) return FAMILIES[name];
    throw new Error(`${source}: tokenizer_class ${JSON.stringify(tokenizerClass)} is not supported (${Object.keys(FAMILIES).join(", ")} are)`);
  }
  if (typeof modelType === "string" && Object.hasOwn(MODEL_TYPES, modelType)) return FAMILIES[MODEL_TYPES[modelType]];
  return undefined;
}

export function familyByName(className: string): TokenizerFamily {
  if (!Object.hasOwn(FAMILIES, className)) throw new Error(`Unknown tokenizer class ${className}`);
  return FAMILIES[className];
}

/** The slow class's special-token layout. */
export function layoutProcessor(family: TokenizerFamily, cls: number, sep: number): PostProcessor {
  const a: TemplatePiece = { kind: "sequence", sequence: 0, typeId: 0 };
  const special = (id: number, typeId: number): TemplatePiece => ({ kind: "special", ids: [id], typeId });
  if (family.layout === "roberta") {
    return new TemplateProcessing([special(cls, 0), a, special(sep, 0)], [special(cls, 0), a, special(sep, 0), special(sep, 0), { kind: "sequence", sequence: 1, typeId: 0 }, special(sep, 0)]);
  }
  return new TemplateProcessing([special(cls, 0), a, special(sep, 0)], [special(cls, 0), a, special(sep, 0), { kind: "sequence", sequence: 1, typeId: 1 }, special(sep, 1)]);
}

/** tokenizer_config's model_max_length, else the positions (minus RoBERTa's offset of 2), else 512. */
export function modelMaxLength(config: TokenizerFolderConfig, family: TokenizerFamily): number {
  const m = config.tokenizerConfig.model_max_length;
  if (typeof m === "number" && Number.isInteger(m) && m > 0 && m < 1e9) return m;
  const positions = config.maxPositionEmbeddings;
  if (positions === undefined) return 512;
  return family.layout === "roberta" && positions > 2 ? positions - 2 : positions;
}
