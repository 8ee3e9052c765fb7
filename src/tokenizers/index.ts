// The tokenizer's public surface.
export { Tokenizer, type EncodeOptions, type DecodeOptions, type TruncationStrategy, type PaddingStrategy, type TextInput, type SpecialTokenNames, type TokenizerParts } from "./tokenizer.js";
export { BertTokenizer, type FromPretrainedOptions, type TokenizerSource } from "./bert-tokenizer.js";
export { RobertaTokenizer, type RobertaFromPretrainedOptions, type RobertaTokenizerSource } from "./roberta-tokenizer.js";
export { SentencePieceTokenizer, type SentencePieceSource } from "./sentencepiece-tokenizer.js";
export { AutoTokenizer, loadTokenizer, type LoadTokenizerOptions } from "./auto-tokenizer.js";
export type { Encoding, IdsEncoding, ModelInput } from "./encoding.js";
export { codePointOffsets } from "./offsets.js";
export type { TokenizerJson } from "./tokenizer-json.js";
export type { AddedToken } from "./added-tokens.js";
