/**
 * The tokenizer.json that transformers' convert_slow_tokenizer.py (4.38, the reference kit's
 * version) writes for an XLMRobertaTokenizer or AlbertTokenizer folder — written here because the
 * Rust `tokenizers` library cannot be installed on this machine, so no fast tokenizer can save one.
 * It follows SpmConverter, XLMRobertaConverter and AlbertConverter rule for rule:
 * - model: Unigram over the converter's vocabulary ([piece, score]; XLM-R: <s> <pad> </s> <unk>,
 *   pieces[3:], <mask>; ALBERT: the pieces, score - 100 for a piece ending in digit + ","), unk_id.
 * - normalizer: XLM-R Sequence[Precompiled, Strip(right), Replace(" {2,}" → "▁")]; ALBERT
 *   Sequence[Replace(``), Replace(''), NFKD, StripAccents, Lowercase, Precompiled, Replace(" {2,}" → " ")].
 * - pre_tokenizer Metaspace("▁", prepend_scheme "always"); decoder Metaspace.
 * - post_processor TemplateProcessing: <s> $A </s> / <s> $A </s> </s> $B </s>, or
 *   [CLS]:0 $A:0 [SEP]:0 / ... $B:1 [SEP]:1.
 * - added_tokens: the special tokens (mask with lstrip), not normalized.
 */
import type { SentencePieceModelProto } from "../../src/io/sentencepiece-model.js";
import type { TokenizerJson } from "../../src/tokenizers/index.js";

export function convertSlowTokenizer(proto: SentencePieceModelProto, className: "XLMRobertaTokenizer" | "AlbertTokenizer"): TokenizerJson {
  const charsmap = Buffer.from(proto.normalizer.precompiledCharsmap).toString("base64");
  const added = (id: number, content: string, lstrip = false) => ({ id, content, single_word: false, lstrip, rstrip: false, normalized: false, special: true });
  if (className === "XLMRobertaTokenizer") {
    const vocab: [string, number][] = [["<s>", 0], ["<pad>", 0], ["</s>", 0], ["<unk>", 0], ...proto.pieces.slice(3).map((p): [string, number] => [p.piece, p.score]), ["<mask>", 0]];
    const mask = vocab.length - 1;
    return {
      version: "1.0",
      added_tokens: [added(0, "<s>"), added(1, "<pad>"), added(2, "</s>"), added(3, "<unk>"), added(mask, "<mask>", true)],
      normalizer: {
        type: "Sequence",
        normalizers: [
          { type: "Precompiled", precompiled_charsmap: charsmap },
          { type: "Strip", strip_left: false, strip_right: true },
          { type: "Replace", pattern: { Regex: " {2,}" }, content: "\u2581" },
        ],
      },
      pre_tokenizer: { type: "Metaspace", replacement: "\u2581", add_prefix_space: true, prepend_scheme: "always" },
      post_processor: {
        type: "TemplateProcessing",
        single: [{ SpecialToken: { id: "<s>", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "</s>", type_id: 0 } }],
        pair: [
          { SpecialToken: { id: "<s>", type_id: 0 } },
          { Sequence: { id: "A", type_id: 0 } },
          { SpecialToken: { id: "</s>", type_id: 0 } },
          { SpecialToken: { id: "</s>", type_id: 0 } },
          { Sequence: { id: "B", type_id: 0 } },
          { SpecialToken: { id: "</s>", type_id: 0 } },
        ],
        special_tokens: { "<s>": { id: "<s>", ids: [0], tokens: ["<s>"] }, "</s>": { id: "</s>", ids: [2], tokens: ["</s>"] } },
      },
      decoder: { type: "Metaspace", replacement: "\u2581", add_prefix_space: true, prepend_scheme: "always" },
      model: { type: "Unigram", unk_id: 3, vocab, byte_fallback: false },
    };
  }
  const numberComma = (piece: string): boolean => piece.length >= 2 && piece.endsWith(",") && /\p{Nd}/u.test(piece[piece.length - 2]);
  const vocab = proto.pieces.map((p): [string, number] => [p.piece, numberComma(p.piece) ? p.score - 100 : p.score]);
  const id = (piece: string): number => vocab.findIndex(([p]) => p === piece);
  return {
    version: "1.0",
    added_tokens: [added(id("<pad>"), "<pad>"), added(id("<unk>"), "<unk>"), added(id("[CLS]"), "[CLS]"), added(id("[SEP]"), "[SEP]"), added(id("[MASK]"), "[MASK]", true)],
    normalizer: {
      type: "Sequence",
      normalizers: [
        { type: "Replace", pattern: { String: "``" }, content: '"' },
        { type: "Replace", pattern: { String: "''" }, content: '"' },
        { type: "NFKD" },
        { type: "StripAccents" },
        { type: "Lowercase" },
        { type: "Precompiled", precompiled_charsmap: charsmap },
        { type: "Replace", pattern: { Regex: " {2,}" }, content: " " },
      ],
    },
    pre_tokenizer: { type: "Metaspace", replacement: "\u2581", add_prefix_space: true, prepend_scheme: "always" },
    post_processor: {
      type: "TemplateProcessing",
      single: [{ SpecialToken: { id: "[CLS]", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } }, { SpecialToken: { id: "[SEP]", type_id: 0 } }],
      pair: [
        { SpecialToken: { id: "[CLS]", type_id: 0 } },
        { Sequence: { id: "A", type_id: 0 } },
        { SpecialToken: { id: "[SEP]", type_id: 0 } },
        { Sequence: { id: "B", type_id: 1 } },
        { SpecialToken: { id: "[SEP]", type_id: 1 } },
      ],
      special_tokens: { "[CLS]": { id: "[CLS]", ids: [id("[CLS]")], tokens: ["[CLS]"] }, "[SEP]": { id: "[SEP]", ids: [id("[SEP]")], tokens: ["[SEP]"] } },
    },
    decoder: { type: "Metaspace", replacement: "\u2581", add_prefix_space: true, prepend_scheme: "always" },
    model: { type: "Unigram", unk_id: proto.unkId, vocab, byte_fallback: false },
  };
}
