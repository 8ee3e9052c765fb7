/**
 * SentencePiece tokenizers (XLM-RoBERTa, CamemBERT, ALBERT), from the model's `.model` file
 * (`sentencepiece.bpe.model`, `spiece.model`: the slow tokenizer's files) or from tokenizer.json.
 *
 * From the `.model` file the stages are sentencepiece's own: its normalizer (charsmap, whitespace
 * rules, user-defined symbols kept whole), then the Unigram or BPE model over the whole normalized
 * text; then what each transformers class adds:
 * - XLMRobertaTokenizer: fairseq ids — <s> 0, <pad> 1, </s> 2, <unk> 3, piece i (i ≥ 3) → i + 1,
 *   <mask> last; <s> A </s></s> B </s>; no token types.
 * - CamembertTokenizer: <s>NOTUSED 0, <pad> 1, </s>NOTUSED 2, <unk> 3, piece i → i + 4, <mask> last.
 * - AlbertTokenizer: ids as in the file; preprocess_text first (remove_space, `` '' → ", NFKD and
 *   no combining marks unless keep_accents, lower-case); a piece ending in digit + "," is split
 *   again as the slow tokenizer does; [CLS] A [SEP] B [SEP] with token types.
 */
import { fileExists as existsSync, join, openModelFolder } from "../io/host.js";
import { resolveModelFolder, type ResolveOptions } from "../io/hub.js";
import { readSentencePieceModel, PieceType, type SentencePieceModelProto } from "../io/sentencepiece-model.js";
import { AddedTokenMatcher, type AddedToken } from "./added-tokens.js";
import { checkFolder, completeFolder, readFolderConfig, readJson, type TokenizerFolderConfig } from "./bert-tokenizer.js";
import { SentencePieceDecoder } from "./decoders/index.js";
import { familyByName, layoutProcessor, modelMaxLength, tokenizerFamily, type TokenizerFamily } from "./families.js";
import { SentencePieceBpe } from "./models/sentencepiece-bpe.js";
import { Unigram, type TokenizerModel, type UnigramPiece, type WordPieces } from "./models/index.js";
import type { UnigramPieceKind } from "./models/unigram.js";
import { AlbertPreprocess, CharsMap, SentencePieceNormalizer, SequenceNormalizer, type Normalizer } from "./normalizers/index.js";
import { WholeTextPreTokenizer } from "./pre-tokenizers/index.js";
import { partsFromTokenizerJson, readSpecialTokens, type TokenizerJson } from "./tokenizer-json.js";
import { Tokenizer, type TokenizerParts } from "./tokenizer.js";

export type SentencePieceSource = "auto" | "tokenizer.json" | "sentencepiece";

/** The model file each class's slow tokenizer reads. */
export const SENTENCEPIECE_FILES = ["sentencepiece.bpe.model", "spiece.model"];

const KINDS: Record<number, UnigramPieceKind> = {
  [PieceType.NORMAL]: "normal",
  [PieceType.UNKNOWN]: "unknown",
  [PieceType.CONTROL]: "control",
  [PieceType.USER_DEFINED]: "user",
  [PieceType.UNUSED]: "unused",
  [PieceType.BYTE]: "byte",
};

export class SentencePieceTokenizer extends Tokenizer {
  readonly source: "tokenizer.json" | "sentencepiece";
  readonly family: TokenizerFamily;
  private readonly slowAddedTokens: AddedTokenMatcher;

  constructor(parts: TokenizerParts, source: "tokenizer.json" | "sentencepiece", family: TokenizerFamily) {
    super(parts);
    this.source = source;
    this.family = family;
    this.slowAddedTokens = new AddedTokenMatcher(parts.addedTokens.filter((t) => !t.normalized));
  }

  /**
   * The pieces of a text, no special tokens (transformers' tokenize()). As in the slow tokenizer,
   * an unknown piece is the text it stands for (normalized), not "<unk>" (the fast one says "<unk>").
   */
  override tokenize(text: string): string[] {
    if (this.source !== "sentencepiece") return super.tokenize(text);
    const out: string[] = [];
    const unk = this.unkTokenId;
    const { normalizer, model } = this.parts;
    // The same stages as encoding (added tokens in the raw text, then the whole segment through
    // the normalizer and the model), keeping each piece's normalized text.
    const segment = (from: number, to: number): void => {
      if (to <= from) return;
      const ns = normalizer === null ? { text: text.slice(from, to) } : normalizer.normalize(text.slice(from, to));
      const pieces = model.tokenizeWord(ns.text);
      for (let k = 0, start = 0; k < pieces.ids.length; start = pieces.ends[k], k++) {
        const id = pieces.ids[k];
        out.push(id === unk ? ns.text.slice(pieces.starts?.[k] ?? start, pieces.ends[k]) : this.convertIdsToTokens(id));
      }
    };
    let pos = 0;
    for (const m of this.slowAddedTokens.find(text)) {
      segment(pos, m.start);
      out.push(m.token.content);
      pos = m.end;
    }
    segment(pos, text.length);
    return out;
  }

  /** Loads a folder: tokenizer.json when present (source "auto"), else the `.model` file. */
  static async fromPretrained(nameOrPath: string, options: { source?: SentencePieceSource; resolve?: ResolveOptions } = {}): Promise<SentencePieceTokenizer> {
    const dir = await openModelFolder(await resolveModelFolder(nameOrPath, { ...options.resolve, tokenizerOnly: true }));
    await checkFolder(dir);
    const folder = await readFolderConfig(dir);
    const source = options.source ?? "auto";
    const jsonPath = join(dir, "tokenizer.json");
    const family = folderFamily(folder, dir);
    if (source === "tokenizer.json" || (source === "auto" && existsSync(jsonPath))) {
      const json = await readJson<TokenizerJson>(jsonPath, true);
      return withSource(jsonPath, () => SentencePieceTokenizer.fromTokenizerJson(json, folder, jsonPath, family));
    }
    const modelPath = SENTENCEPIECE_FILES.map((f) => join(dir, f)).find((p) => existsSync(p));
    if (modelPath === undefined) throw new Error(`No SentencePiece tokenizer in ${dir}: expected tokenizer.json, ${SENTENCEPIECE_FILES.join(" or ")}`);
    const proto = await readSentencePieceModel(modelPath);
    return withSource(modelPath, () => SentencePieceTokenizer.fromModelProto(proto, folder, family, modelPath));
  }

  /** tokenizer.json with a Unigram model (its stages as the file describes them). */
  static fromTokenizerJson(json: TokenizerJson, folder: Partial<TokenizerFolderConfig>, source: string, family: TokenizerFamily): SentencePieceTokenizer {
    return new SentencePieceTokenizer(partsFromTokenizerJson(json, completeFolder(folder), source, family), "tokenizer.json", family);
  }

  /** The slow tokenizer: sentencepiece's stages from the `.model` file, plus the class's rules. */
  static fromModelProto(proto: SentencePieceModelProto, folder: Partial<TokenizerFolderConfig>, family: TokenizerFamily, file = "sentencepiece model"): SentencePieceTokenizer {
    const config = completeFolder(folder);
    const tc = config.tokenizerConfig;
    const { pieces, unkId } = fairseqPieces(proto, family);
    const stages = sentencePieceStages(proto, file, pieces, unkId);
    let model = stages.model;
    let normalizer: Normalizer = stages.normalizer;
    if (family.className === "AlbertTokenizer") {
      const preprocess = new AlbertPreprocess({
        removeSpace: typeof tc.remove_space === "boolean" ? tc.remove_space : true,
        keepAccents: typeof tc.keep_accents === "boolean" ? tc.keep_accents : false,
        lowercase: typeof tc.do_lower_case === "boolean" ? tc.do_lower_case : true,
      });
      normalizer = new SequenceNormalizer([preprocess, stages.normalizer]);
      model = new AlbertDigitComma(model, stages.normalizer, unkId);
    }

    const specials = readSpecialTokens(config, family);
    const addedTokens: AddedToken[] = [];
    const idOf = (token: string, what: string): number => {
      const id = model.tokenToId(token);
      if (id === undefined) throw new Error(`${file}: the ${what} ${JSON.stringify(token)} is not a piece of the model`);
      return id;
    };
    for (const [key, name] of Object.entries(specials.names)) {
      if (typeof name !== "string" || addedTokens.some((t) => t.content === name)) continue;
      const attrs = specials.attributes.get(key) ?? {};
      addedTokens.push({ id: idOf(name, `${key}_token`), content: name, special: true, normalized: false, lstrip: false, rstrip: false, singleWord: false, ...attrs });
    }
    for (const name of specials.names.additional ?? []) {
      const id = model.tokenToId(name);
      if (id !== undefined && !addedTokens.some((t) => t.content === name)) addedTokens.push({ id, content: name, special: true, normalized: false, lstrip: false, rstrip: false, singleWord: false });
    }
    const cls = idOf(specials.names.cls ?? family.specials.cls, "cls_token");
    const sep = idOf(specials.names.sep ?? family.specials.sep, "sep_token");
    return new SentencePieceTokenizer(
      {
        normalizer,
        preTokenizer: new WholeTextPreTokenizer(),
        model,
        postProcessor: layoutProcessor(family, cls, sep),
        decoder: new SentencePieceDecoder(family.className === "XLMRobertaTokenizer" ? "join" : "specials", new Set(addedTokens.map((t) => t.content))),
        addedTokens,
        specialTokens: specials.names,
        modelMaxLength: modelMaxLength(config, family),
        cleanUpTokenizationSpaces: tc.clean_up_tokenization_spaces ?? true,
        returnTokenTypeIds: family.tokenTypeIds,
      },
      "sentencepiece",
      family,
    );
  }
}

/**
 * sentencepiece's own stages for a `.model` file (SentencePieceProcessor.encode): its normalizer
 * and its model over the given vocabulary (default: the file's pieces and ids).
 */
export function sentencePieceStages(
  proto: SentencePieceModelProto,
  file: string,
  pieces: readonly UnigramPiece[] = ownPieces(proto),
  unkId = proto.unkId,
): { normalizer: SentencePieceNormalizer; model: TokenizerModel } {
  const normalizer = new SentencePieceNormalizer({
    charsMap: proto.normalizer.precompiledCharsmap.length > 0 ? new CharsMap(proto.normalizer.precompiledCharsmap, `${file}: normalizer_spec`) : null,
    addDummyPrefix: proto.normalizer.addDummyPrefix,
    removeExtraWhitespaces: proto.normalizer.removeExtraWhitespaces,
    escapeWhitespaces: proto.normalizer.escapeWhitespaces,
    treatWhitespaceAsSuffix: proto.treatWhitespaceAsSuffix,
    userDefined: proto.pieces.filter((p) => p.type === PieceType.USER_DEFINED).map((p) => p.piece),
  });
  if (proto.modelType === "unigram") return { normalizer, model: new Unigram(pieces, { unkId, byteFallback: proto.byteFallback, flavor: "sentencepiece" }) };
  if (proto.modelType === "bpe") return { normalizer, model: new SentencePieceBpe(pieces, { unkId, byteFallback: proto.byteFallback }) };
  throw new Error(`${file}: trainer_spec.model_type ${proto.modelType} is not supported (unigram and bpe are)`);
}

function ownPieces(proto: SentencePieceModelProto): UnigramPiece[] {
  return proto.pieces.map((p) => ({ piece: p.piece, score: p.score, kind: Object.hasOwn(KINDS, p.type) ? KINDS[p.type] : "normal" }));
}

/** The family of a SentencePiece folder: its tokenizer_class / model_type, else XLM-R for sentencepiece.bpe.model, ALBERT for spiece.model. */
function folderFamily(folder: TokenizerFolderConfig, dir: string): TokenizerFamily {
  const named = tokenizerFamily(folder.tokenizerConfig.tokenizer_class, folder.modelType, join(dir, "tokenizer_config.json"));
  if (named !== undefined) return named;
  return familyByName(existsSync(join(dir, "spiece.model")) ? "AlbertTokenizer" : "XLMRobertaTokenizer");
}

/** The vocabulary in the class's id order (transformers' converters build the same list). */
function fairseqPieces(proto: SentencePieceModelProto, family: TokenizerFamily): { pieces: UnigramPiece[]; unkId: number } {
  const own = ownPieces(proto);
  const control = (piece: string): UnigramPiece => ({ piece, score: 0, kind: "control" });
  if (family.className === "XLMRobertaTokenizer") {
    const head = [control("<s>"), control("<pad>"), control("</s>"), { piece: "<unk>", score: 0, kind: "unknown" as const }];
    return { pieces: [...head, ...own.slice(3), control("<mask>")], unkId: 3 };
  }
  if (family.className === "CamembertTokenizer") {
    const head = [control("<s>NOTUSED"), control("<pad>"), control("</s>NOTUSED"), { piece: "<unk>", score: 0, kind: "unknown" as const }, control("<unk>NOTUSED")];
    return { pieces: [...head, ...own.slice(1), control("<mask>")], unkId: 3 };
  }
  return { pieces: own, unkId: proto.unkId };
}

const DIGIT = /^\p{Nd}$/u;

/**
 * AlbertTokenizer._tokenize: a piece like "159," (more than one character, a digit before the
 * final comma) is encoded again without its "▁" and comma, and the comma follows on its own; if
 * the piece did not start with "▁", the new first piece loses its "▁" (or goes, if it was only "▁").
 */
class AlbertDigitComma implements TokenizerModel {
  readonly vocabSize: number;
  constructor(
    private readonly inner: TokenizerModel,
    private readonly normalizer: Normalizer,
    private readonly unkId: number,
  ) {
    this.vocabSize = inner.vocabSize;
  }
  tokenToId(token: string): number | undefined {
    return this.inner.tokenToId(token);
  }
  idToToken(id: number): string | undefined {
    return this.inner.idToToken(id);
  }

  tokenizeWord(word: string): WordPieces {
    const pieces = this.inner.tokenizeWord(word);
    const n = pieces.ids.length;
    let needed = false;
    for (let k = 0, start = 0; k < n; start = pieces.ends[k], k++) {
      if (this.splits(word.slice(pieces.starts?.[k] ?? start, pieces.ends[k]))) needed = true;
    }
    if (!needed) return pieces;
    const ids: number[] = [];
    const starts: number[] = [];
    const ends: number[] = [];
    const unk = this.unkId;
    for (let k = 0, start = 0; k < n; start = pieces.ends[k], k++) {
      const s = pieces.starts?.[k] ?? start;
      const e = pieces.ends[k];
      const text = word.slice(s, e);
      if (!this.splits(text)) {
        ids.push(pieces.ids[k]), starts.push(s), ends.push(e);
        continue;
      }
      const body = text.slice(0, -1).replaceAll("\u2581", "");
      const ns = this.normalizer.normalize(body);
      const sub = this.inner.tokenizeWord(ns.text);
      const subTokens = sub.ids.map((_, j) => ns.text.slice(sub.starts?.[j] ?? (j === 0 ? 0 : sub.ends[j - 1]), sub.ends[j]));
      const subIds = sub.ids.slice();
      if (!text.startsWith("\u2581") && subTokens.length > 0 && subTokens[0].startsWith("\u2581")) {
        if (subTokens[0].length === 1) {
          subTokens.shift();
          subIds.shift();
        } else {
          subTokens[0] = subTokens[0].slice(1);
          subIds[0] = this.inner.tokenToId(subTokens[0]) ?? unk;
        }
      }
      // Offsets: each new piece covers its own characters of the body; the first also the piece's "▁".
      let cursor = e - 1 - body.length;
      for (let j = 0; j < subIds.length; j++) {
        ids.push(subIds[j]);
        starts.push(j === 0 ? s : cursor);
        cursor += subTokens[j].replaceAll("\u2581", "").length;
        ends.push(cursor);
      }
      ids.push(this.inner.tokenToId(",") ?? unk), starts.push(e - 1), ends.push(e);
    }
    return { ids, starts, ends };
  }

  private splits(piece: string): boolean {
    return piece.length > 1 && piece.endsWith(",") && DIGIT.test(piece[piece.length - 2]);
  }
}

function withSource<T>(path: string, f: () => T): T {
  try {
    return f();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(message.includes(path) ? message : `${path}: ${message}`);
  }
}
