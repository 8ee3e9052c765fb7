/**
 * The generic tokenizer: normalizer → pre-tokenizer → model → post-processor, plus decoder, with
 * the per-call truncation, padding and overflow windows of Hugging Face's tokenizers. Nothing here
 * knows about WordPiece or BERT; a byte-level BPE tokenizer (RoBERTa) plugs in other stages.
 */
import type { WordPieceAccelerator } from "./accelerator.js";
import { AddedTokenMatcher, type AddedToken } from "./added-tokens.js";
import { cleanUpTokenization, type Decoder } from "./decoders/index.js";
import type { Encoding, IdsEncoding } from "./encoding.js";
import type { TokenizerModel } from "./models/index.js";
import { identityNormalized, type NormalizedString } from "./normalized-string.js";
import type { Normalizer } from "./normalizers/index.js";
import { numSpecialTokens, type PostProcessor, type TokenSequence } from "./post-processors/index.js";
import { WordSpans, type PreTokenizer, type RewrittenWord } from "./pre-tokenizers/index.js";

export type TruncationStrategy = "longest_first" | "only_first" | "only_second";
export type PaddingStrategy = "longest" | "max_length";

export interface EncodeOptions {
  /** Add [CLS]/[SEP] (or the model's equivalents). Default true. */
  addSpecialTokens?: boolean;
  /**
   * true = "longest_first". Default: false, except "longest_first" when maxLength is given without
   * padding (transformers' rule). Each Encoding reports what was cut in numTruncatedTokens.
   */
  truncation?: boolean | TruncationStrategy;
  /** Length limit for truncation and "max_length" padding, special tokens included. Default modelMaxLength. */
  maxLength?: number;
  /** true = "longest" (of the batch). Default false. */
  padding?: boolean | PaddingStrategy;
  padToMultipleOf?: number;
  /** With returnOverflowingTokens: tokens shared by consecutive windows. Default 0. */
  stride?: number;
  /**
   * Keep what truncation cuts as further windows in Encoding.overflowing (fast-tokenizer semantics:
   * windows of the truncated sequence, consecutive ones sharing `stride` tokens). For a pair the
   * second sequence is windowed (question + context, as in QA) unless truncation is "only_first".
   */
  returnOverflowingTokens?: boolean;
}

export interface DecodeOptions {
  /** Leave out [CLS], [SEP], [PAD], [UNK], [MASK] and other special tokens. Default false. */
  skipSpecialTokens?: boolean;
  /** " ." → "." and the like. Default: the tokenizer's clean_up_tokenization_spaces (true for BERT). */
  cleanUpTokenizationSpaces?: boolean;
}

/** The special tokens a model names (as in special_tokens_map.json). */
export interface SpecialTokenNames {
  unk?: string;
  sep?: string;
  pad?: string;
  cls?: string;
  mask?: string;
  bos?: string;
  eos?: string;
  additional?: string[];
}

export interface TokenizerParts {
  normalizer: Normalizer | null;
  preTokenizer: PreTokenizer;
  model: TokenizerModel;
  postProcessor: PostProcessor;
  decoder: Decoder;
  addedTokens: AddedToken[];
  specialTokens: SpecialTokenNames;
  modelMaxLength: number;
  cleanUpTokenizationSpaces: boolean;
  /**
   * model_input_names holds token_type_ids (default true). When false (DistilBERT, MPNet, RoBERTa,
   * XLM-R) every type id is 0 whatever the post-processor says, as for a model that takes none.
   */
  returnTokenTypeIds?: boolean;
}

export type TextInput = string | [string, string];

interface ResolvedOptions {
  addSpecialTokens: boolean;
  truncation: TruncationStrategy | false;
  maxLength: number;
  padding: PaddingStrategy | false;
  padToMultipleOf: number;
  stride: number;
  returnOverflowingTokens: boolean;
}

export class Tokenizer {
  readonly modelMaxLength: number;
  /** transformers' model_input_names: token_type_ids only for tokenizers that return them. */
  readonly modelInputNames: readonly string[];
  protected readonly parts: TokenizerParts;
  private readonly rawAddedTokens: AddedTokenMatcher;
  private readonly normalizedAddedTokens: AddedTokenMatcher;
  private readonly addedById = new Map<number, AddedToken>();
  private readonly addedByContent = new Map<string, AddedToken>();
  private readonly specialIds: Set<number>;
  private readonly spans = new WordSpans();
  private wordAccelerator: WordPieceAccelerator | null = null;

  constructor(parts: TokenizerParts) {
    this.parts = parts;
    this.modelMaxLength = parts.modelMaxLength;
    this.modelInputNames = parts.returnTokenTypeIds === false ? ["input_ids", "attention_mask"] : ["input_ids", "token_type_ids", "attention_mask"];
    for (const t of parts.addedTokens) {
      this.addedById.set(t.id, t);
      this.addedByContent.set(t.content, t);
    }
    this.rawAddedTokens = new AddedTokenMatcher(parts.addedTokens.filter((t) => !t.normalized));
    this.normalizedAddedTokens = new AddedTokenMatcher(
      parts.addedTokens.filter((t) => t.normalized),
      parts.normalizer?.lowercases ?? false,
    );
    this.specialIds = new Set<number>();
    for (const t of parts.addedTokens) if (t.special) this.specialIds.add(t.id);
    const s = parts.specialTokens;
    for (const name of [s.unk, s.sep, s.pad, s.cls, s.mask, s.bos, s.eos, ...(s.additional ?? [])]) {
      if (name === undefined) continue;
      const id = this.tokenToId(name);
      if (id !== undefined) this.specialIds.add(id);
    }
  }

  // ---- vocabulary ------------------------------------------------------------------------------

  /** Size of the base vocabulary, without added tokens (transformers' vocab_size). */
  get vocabSize(): number {
    return this.parts.model.vocabSize;
  }

  get unkTokenId(): number | undefined {
    return this.specialId(this.parts.specialTokens.unk);
  }
  get sepTokenId(): number | undefined {
    return this.specialId(this.parts.specialTokens.sep);
  }
  get padTokenId(): number | undefined {
    return this.specialId(this.parts.specialTokens.pad);
  }
  get clsTokenId(): number | undefined {
    return this.specialId(this.parts.specialTokens.cls);
  }
  get maskTokenId(): number | undefined {
    return this.specialId(this.parts.specialTokens.mask);
  }
  get specialTokens(): Readonly<SpecialTokenNames> {
    return this.parts.specialTokens;
  }
  /** Ids of every special token (transformers' all_special_ids). */
  get allSpecialIds(): number[] {
    return [...this.specialIds];
  }

  private specialId(name: string | undefined): number | undefined {
    return name === undefined ? undefined : this.tokenToId(name);
  }

  private tokenToId(token: string): number | undefined {
    return this.addedByContent.get(token)?.id ?? this.parts.model.tokenToId(token);
  }

  private idToToken(id: number): string | undefined {
    return this.addedById.get(id)?.content ?? this.parts.model.idToToken(id);
  }

  /** Unknown tokens map to the unknown token's id, as in transformers. */
  convertTokensToIds(tokens: string): number;
  convertTokensToIds(tokens: readonly string[]): number[];
  convertTokensToIds(tokens: string | readonly string[]): number | number[] {
    const one = (t: string): number => {
      const id = this.tokenToId(t) ?? this.unkTokenId;
      if (id === undefined) throw new Error(`Token ${JSON.stringify(t)} is not in the vocabulary and there is no unknown token`);
      return id;
    };
    return typeof tokens === "string" ? one(tokens) : tokens.map(one);
  }

  /** Ids outside the vocabulary become the unknown token, as in transformers. */
  convertIdsToTokens(ids: number): string;
  convertIdsToTokens(ids: ArrayLike<number>): string[];
  convertIdsToTokens(ids: number | ArrayLike<number>): string | string[] {
    const one = (id: number): string => this.idToToken(Number(id)) ?? this.parts.specialTokens.unk ?? "";
    return typeof ids === "number" ? one(ids) : Array.from(ids, one);
  }

  /**
   * Lets encodeIds hand each stretch of normalized text between added tokens to `accelerator`
   * (which may answer "not mine"), instead of the pre-tokenizer and model here. Only for an
   * accelerator built from this tokenizer's own pre-tokenizer and model (BertTokenizer's
   * wordPieceTableSpec); null detaches it. encode() and the rest keep the JavaScript path.
   */
  useWordPieceAccelerator(accelerator: WordPieceAccelerator | null): void {
    this.wordAccelerator = accelerator;
  }

  // ---- encoding --------------------------------------------------------------------------------

  /** Word pieces of text, no special tokens (transformers' tokenize()). */
  tokenize(text: string): string[] {
    checkText(text, "text");
    return this.encodeText(text).ids.map((id) => this.convertIdsToTokens(id));
  }

  /** Encodes a text, or a pair of texts (text, pair). */
  encode(text: string, pair?: string | null, options: EncodeOptions = {}): Encoding {
    checkText(text, "text");
    if (pair !== undefined && pair !== null) checkText(pair, "pair");
    const opts = this.resolveOptions(options);
    const a = this.encodeText(text);
    const b = pair === undefined || pair === null ? null : this.encodeText(pair);
    const encoding = this.assemble(a, b, opts);
    if (opts.padding !== false) {
      const all = [encoding, ...encoding.overflowing];
      this.pad(all, this.paddingTarget(all, opts));
    }
    return encoding;
  }

  /**
   * encode()'s inputIds, tokenTypeIds, attentionMask, specialTokensMask and numTruncatedTokens (the
   * same values) without the token strings, offset pairs and word ids, which an embedding loop never
   * reads: making them was ~1/3 of encode()'s time on a corpus' first (cold) pass. No padding and no
   * overflow windows (encode() has them).
   */
  encodeIds(text: string, pair?: string | null, options: Pick<EncodeOptions, "addSpecialTokens" | "truncation" | "maxLength"> = {}): IdsEncoding {
    checkText(text, "text");
    if (pair !== undefined && pair !== null) checkText(pair, "pair");
    if (typeof options !== "object" || options === null) throw new TypeError(`Expected an options object but received ${describe(options)}`);
    const opts = this.resolveOptions({ addSpecialTokens: options.addSpecialTokens, truncation: options.truncation, maxLength: options.maxLength });
    const a = this.encodeText(text, true);
    const b = pair === undefined || pair === null ? null : this.encodeText(pair, true);
    return this.assemble(a, b, opts, true);
  }

  /** Encodes many inputs; with padding "longest" all come out the length of the longest. */
  encodeBatch(inputs: readonly TextInput[], options: EncodeOptions = {}): Encoding[] {
    if (!Array.isArray(inputs)) throw new TypeError(`Expected an array of texts or [text, pair] for inputs but received ${describe(inputs)}`);
    const opts = this.resolveOptions(options);
    const encodings = inputs.map((input, i) => {
      if (typeof input === "string") return this.assemble(this.encodeText(input), null, opts);
      if (Array.isArray(input) && input.length === 2 && typeof input[0] === "string" && typeof input[1] === "string") {
        return this.assemble(this.encodeText(input[0]), this.encodeText(input[1]), opts);
      }
      throw new TypeError(`Expected a string or [string, string] for inputs[${i}] but received ${describe(input)}`);
    });
    if (opts.padding !== false) {
      const all = encodings.flatMap((e) => [e, ...e.overflowing]);
      this.pad(all, this.paddingTarget(all, opts));
    }
    return encodings;
  }

  /**
   * Tokens of one text, with offsets into it; no special tokens, no truncation. idsOnly: the ids
   * alone, offsets and wordIds left empty (encodeIds: an embedding loop reads neither, and pushing
   * three values a token instead of one was most of the word loop's own work).
   */
  protected encodeText(text: string, idsOnly = false): TokenSequence {
    const seq: TokenSequence = { ids: [], offsets: [], wordIds: [] };
    const counter = { word: 0, idsOnly };
    let pos = 0;
    if (!this.rawAddedTokens.isEmpty) {
      for (const m of this.rawAddedTokens.find(text)) {
        if (m.start > pos) this.encodeSegment(text.slice(pos, m.start), pos, seq, counter);
        seq.ids.push(m.token.id);
        if (!idsOnly) {
          seq.offsets.push(m.start, m.end);
          seq.wordIds.push(counter.word++);
        }
        pos = m.end;
      }
    }
    if (pos < text.length) this.encodeSegment(pos === 0 ? text : text.slice(pos), pos, seq, counter);
    return seq;
  }

  /** Normalize, pre-tokenize and split into pieces one stretch of text between added tokens. */
  private encodeSegment(segment: string, base: number, seq: TokenSequence, counter: WordCounter): void {
    const ns = this.parts.normalizer ? this.parts.normalizer.normalize(segment) : identityNormalized(segment);
    if (this.normalizedAddedTokens.isEmpty) {
      this.encodeWords(ns, 0, ns.text.length, base, seq, counter);
      return;
    }
    let pos = 0;
    for (const m of this.normalizedAddedTokens.find(ns.text)) {
      this.encodeWords(ns, pos, m.start, base, seq, counter);
      seq.ids.push(m.token.id);
      if (!counter.idsOnly) {
        const [s, e] = span(ns, m.start, m.end);
        seq.offsets.push(base + s, base + e);
        seq.wordIds.push(counter.word++);
      }
      pos = m.end;
    }
    this.encodeWords(ns, pos, ns.text.length, base, seq, counter);
  }

  private encodeWords(ns: NormalizedString, from: number, to: number, base: number, seq: TokenSequence, counter: WordCounter): void {
    if (to <= from) return;
    if (counter.idsOnly && this.wordAccelerator !== null) {
      const pieces = this.wordAccelerator.ids(from === 0 && to === ns.text.length ? ns.text : ns.text.slice(from, to));
      if (pieces !== null) {
        appendAll(seq.ids, pieces);
        return;
      }
    }
    const spans = this.spans;
    spans.clear();
    this.parts.preTokenizer.preTokenize(ns.text, from, to, spans);
    const model = this.parts.model;
    const { ids, offsets, wordIds } = seq;
    const { starts, ends } = ns;
    const text = ns.text;
    const rewritten = spans.rewritten;
    if (counter.idsOnly) {
      for (let w = 0; w < spans.count; w++) {
        const rw = rewritten === null ? null : rewritten[w];
        const pieces = model.tokenizeWord(rw !== null ? rw.text : text.slice(spans.starts[w], spans.ends[w]));
        for (let k = 0; k < pieces.ids.length; k++) ids.push(pieces.ids[k]);
      }
      return;
    }
    for (let w = 0; w < spans.count; w++) {
      const wordStart = spans.starts[w];
      const rw = rewritten === null ? null : rewritten[w];
      if (rw !== null) {
        this.encodeRewritten(ns, wordStart, rw, base, seq, counter.word++);
        continue;
      }
      const pieces = model.tokenizeWord(text.slice(wordStart, spans.ends[w]));
      const word = counter.word++;
      const pieceStarts = pieces.starts;
      let pieceStart = wordStart;
      for (let k = 0; k < pieces.ids.length; k++) {
        if (pieceStarts !== undefined) pieceStart = wordStart + pieceStarts[k];
        const pieceEnd = wordStart + pieces.ends[k];
        ids.push(pieces.ids[k]);
        if (starts === null || ends === null) offsets.push(base + pieceStart, base + pieceEnd);
        else offsets.push(base + starts[pieceStart], base + ends[pieceEnd - 1]);
        wordIds.push(word);
        pieceStart = pieceEnd;
      }
    }
  }

  /**
   * A word the pre-tokenizer rewrote (byte-level BPE: one char per UTF-8 byte): the model splits
   * the rewritten text, and each piece's offsets come back through the rewrite's alignment, then
   * through the normalizer's.
   */
  private encodeRewritten(ns: NormalizedString, wordStart: number, rw: RewrittenWord, base: number, seq: TokenSequence, word: number): void {
    const pieces = this.parts.model.tokenizeWord(rw.text);
    const n = ns.text.length;
    let pieceStart = 0;
    for (let k = 0; k < pieces.ids.length; k++) {
      const pieceEnd = pieces.ends[k];
      // Span of the piece within the normalized text (empty only for an added prefix space).
      const from = wordStart + (rw.starts === null ? pieceStart : rw.starts[pieceStart]);
      const to = wordStart + (rw.ends === null ? pieceEnd : rw.ends[pieceEnd - 1]);
      let start: number;
      let end: number;
      if (ns.starts === null || ns.ends === null) {
        start = from;
        end = to;
      } else {
        start = from < n ? ns.starts[from] : n > 0 ? ns.ends[n - 1] : 0;
        end = to > from ? ns.ends[to - 1] : start;
      }
      seq.ids.push(pieces.ids[k]);
      seq.offsets.push(base + start, base + end);
      seq.wordIds.push(word);
      pieceStart = pieceEnd;
    }
  }

  private resolveOptions(options: EncodeOptions): ResolvedOptions {
    if (typeof options !== "object" || options === null) throw new TypeError(`Expected an options object but received ${describe(options)}`);
    const maxLength = options.maxLength ?? this.modelMaxLength;
    checkInteger(maxLength, "maxLength", 1);
    const stride = options.stride ?? 0;
    checkInteger(stride, "stride", 0);
    const padToMultipleOf = options.padToMultipleOf ?? 1;
    checkInteger(padToMultipleOf, "padToMultipleOf", 1);
    let padding: PaddingStrategy | false;
    if (options.padding === undefined || options.padding === false) padding = false;
    else if (options.padding === true || options.padding === "longest") padding = "longest";
    else if (options.padding === "max_length") padding = "max_length";
    else throw new TypeError(`Expected false, true, "longest" or "max_length" for padding but received ${describe(options.padding)}`);
    let truncation: TruncationStrategy | false;
    const t = options.truncation;
    if (t === undefined) truncation = options.maxLength !== undefined && padding === false ? "longest_first" : false;
    else if (t === false) truncation = false;
    else if (t === true || t === "longest_first") truncation = "longest_first";
    else if (t === "only_first" || t === "only_second") truncation = t;
    else throw new TypeError(`Expected true, false, "longest_first", "only_first" or "only_second" for truncation but received ${describe(t)}`);
    return {
      addSpecialTokens: options.addSpecialTokens ?? true,
      truncation,
      maxLength,
      padding,
      padToMultipleOf,
      stride,
      returnOverflowingTokens: options.returnOverflowingTokens ?? false,
    };
  }

  /** Truncation (and overflow windows), then the post-processor's special tokens; idsOnly: as encodeIds. */
  private assemble(a: TokenSequence, b: TokenSequence | null, opts: ResolvedOptions): Encoding;
  private assemble(a: TokenSequence, b: TokenSequence | null, opts: ResolvedOptions, idsOnly: true): IdsEncoding;
  private assemble(a: TokenSequence, b: TokenSequence | null, opts: ResolvedOptions, idsOnly = false): Encoding | IdsEncoding {
    const isPair = b !== null;
    const specials = opts.addSpecialTokens ? numSpecialTokens(this.parts.postProcessor, isPair) : 0;
    const lenA = a.ids.length;
    const lenB = b === null ? 0 : b.ids.length;
    const excess = lenA + lenB + specials - opts.maxLength;
    const build = (ta: TokenSequence, tb: TokenSequence | null, cut: number) => this.build(ta, tb, opts.addSpecialTokens, cut, idsOnly);
    if (opts.truncation === false || excess <= 0) return build(a, b, 0);
    if (opts.truncation === "only_second" && b === null) {
      throw new Error('Truncation "only_second" needs a pair of texts');
    }

    if (opts.returnOverflowingTokens && !idsOnly) {
      const windowSecond = b !== null && opts.truncation !== "only_first";
      const target = windowSecond ? b : a;
      const other = windowSecond ? lenA : lenB;
      const room = opts.maxLength - specials - other;
      if (room <= 0) {
        throw new Error(
          `Cannot make overflow windows: maxLength ${opts.maxLength} leaves no room for the ${windowSecond ? "second" : "first"} sequence (${other} tokens in the other one, ${specials} special tokens)`,
        );
      }
      if (opts.stride >= room) {
        throw new Error(`stride (${opts.stride}) must be smaller than the room left for the windowed sequence (${room} tokens)`);
      }
      const windows: Encoding[] = [];
      const step = room - opts.stride;
      const total = target.ids.length;
      for (let start = 0; ; start += step) {
        const stop = Math.min(start + room, total);
        const piece = sliceSequence(target, start, stop);
        const cut = total - (stop - start);
        windows.push(windowSecond ? this.build(a, piece, opts.addSpecialTokens, cut) : this.build(piece, b, opts.addSpecialTokens, cut));
        if (stop === total) break;
      }
      const [first, ...rest] = windows;
      first.overflowing = rest;
      return first;
    }

    let removeA = 0;
    let removeB = 0;
    if (opts.truncation === "longest_first") {
      if (b === null) removeA = excess;
      else {
        // transformers' truncate_sequences: even out the lengths first, then remove alternately
        // (the first sequence keeps the extra token when the remainder is odd).
        const first = Math.min(Math.abs(lenA - lenB), excess);
        const second = excess - first;
        if (lenA > lenB) {
          removeA = first + Math.floor(second / 2);
          removeB = second - Math.floor(second / 2);
        } else {
          removeA = Math.floor(second / 2);
          removeB = first + second - Math.floor(second / 2);
        }
      }
    } else if (opts.truncation === "only_first") removeA = excess;
    else removeB = excess;
    const impossible =
      opts.truncation === "longest_first"
        ? removeA > lenA || removeB > lenB
        : (removeA > 0 && removeA >= lenA) || (removeB > 0 && removeB >= lenB);
    if (impossible) {
      const which = removeA > 0 ? "first" : "second";
      throw new Error(
        `Cannot truncate to maxLength ${opts.maxLength}: ${excess} tokens must go but the ${which} sequence has only ${which === "first" ? lenA : lenB} (truncation "${opts.truncation}")`,
      );
    }
    const ta = removeA > 0 ? sliceSequence(a, 0, lenA - removeA) : a;
    const tb = b !== null && removeB > 0 ? sliceSequence(b, 0, lenB - removeB) : b;
    return build(ta, tb, removeA + removeB);
  }

  /**
   * The encoding of a (truncated) sequence or pair laid out by the post-processor's template;
   * idsOnly: ids, token types and masks alone (encodeIds), without tokens, offsets and word ids.
   */
  private build(a: TokenSequence, b: TokenSequence | null, addSpecialTokens: boolean, numTruncatedTokens: number): Encoding;
  private build(a: TokenSequence, b: TokenSequence | null, addSpecialTokens: boolean, numTruncatedTokens: number, idsOnly: boolean): Encoding | IdsEncoding;
  private build(a: TokenSequence, b: TokenSequence | null, addSpecialTokens: boolean, numTruncatedTokens: number, idsOnly = false): Encoding | IdsEncoding {
    if (idsOnly) return this.buildIds(a, b, addSpecialTokens, numTruncatedTokens);
    const types = this.parts.returnTokenTypeIds !== false;
    const ids: IdsEncoding = { inputIds: [], tokenTypeIds: [], attentionMask: [], specialTokensMask: [], numTruncatedTokens };
    // The full encoding shares ids' arrays (its fields in their usual order).
    const { inputIds, tokenTypeIds, attentionMask, specialTokensMask } = ids;
    const enc: Encoding | null = idsOnly
      ? null
      : { inputIds, tokenTypeIds, attentionMask, specialTokensMask, tokens: [], offsets: [], wordIds: [], sequenceIds: [], overflowing: [], numTruncatedTokens };
    for (const piece of this.parts.postProcessor.template(b !== null)) {
      if (piece.kind === "special") {
        if (!addSpecialTokens) continue;
        for (const id of piece.ids) {
          ids.inputIds.push(id);
          ids.tokenTypeIds.push(types ? piece.typeId : 0);
          ids.attentionMask.push(1);
          ids.specialTokensMask.push(1);
          if (enc === null) continue;
          enc.tokens.push(this.convertIdsToTokens(id));
          enc.offsets.push([0, 0]);
          enc.wordIds.push(null);
          enc.sequenceIds.push(null);
        }
        continue;
      }
      const seq = piece.sequence === 0 ? a : b;
      if (seq === null) continue;
      const n = seq.ids.length;
      const processor = this.parts.postProcessor;
      for (let k = 0; k < n; k++) {
        const id = seq.ids[k];
        ids.inputIds.push(id);
        ids.tokenTypeIds.push(types ? piece.typeId : 0);
        ids.attentionMask.push(1);
        ids.specialTokensMask.push(0);
        if (enc === null) continue;
        const token = this.idToToken(id) ?? "";
        const offsets: [number, number] = [seq.offsets[2 * k], seq.offsets[2 * k + 1]];
        processor.processOffsets?.(token, offsets, k === 0);
        enc.tokens.push(token);
        enc.offsets.push(offsets);
        enc.wordIds.push(seq.wordIds[k]);
        enc.sequenceIds.push(piece.sequence);
      }
    }
    return enc ?? ids;
  }

  /**
   * build() for encodeIds: the same four arrays, copied and filled by builtins (push.apply, slices
   * of constant runs) instead of four pushes a token, so the embed path's tokenisation leaves no
   * per-token loop for V8 to interpret and then optimise on a background thread.
   */
  private buildIds(a: TokenSequence, b: TokenSequence | null, addSpecialTokens: boolean, numTruncatedTokens: number): IdsEncoding {
    const types = this.parts.returnTokenTypeIds !== false;
    const inputIds: number[] = [];
    const tokenTypeIds: number[] = [];
    const specialTokensMask: number[] = [];
    for (const piece of this.parts.postProcessor.template(b !== null)) {
      const typeId = types ? piece.typeId : 0;
      if (piece.kind === "special") {
        if (!addSpecialTokens) continue;
        for (const id of piece.ids) {
          inputIds.push(id);
          tokenTypeIds.push(typeId);
          specialTokensMask.push(1);
        }
        continue;
      }
      const seq = piece.sequence === 0 ? a : b;
      if (seq === null) continue;
      appendAll(inputIds, seq.ids);
      appendAll(tokenTypeIds, run(typeId, seq.ids.length));
      appendAll(specialTokensMask, run(0, seq.ids.length));
    }
    return { inputIds, tokenTypeIds, attentionMask: run(1, inputIds.length), specialTokensMask, numTruncatedTokens };
  }

  private paddingTarget(encodings: readonly Encoding[], opts: ResolvedOptions): number {
    let target = opts.maxLength;
    if (opts.padding === "longest") {
      target = 0;
      for (const e of encodings) target = Math.max(target, e.inputIds.length);
    }
    return Math.ceil(target / opts.padToMultipleOf) * opts.padToMultipleOf;
  }

  /** Right padding with [PAD]: attention 0, special 1, offsets [0, 0]. */
  private pad(encodings: readonly Encoding[], target: number): void {
    const padId = this.padTokenId;
    for (const e of encodings) {
      const missing = target - e.inputIds.length;
      if (missing <= 0) continue;
      if (padId === undefined) throw new Error("Cannot pad: this tokenizer has no padding token");
      const padToken = this.convertIdsToTokens(padId);
      for (let k = 0; k < missing; k++) {
        e.inputIds.push(padId);
        e.tokenTypeIds.push(0);
        e.attentionMask.push(0);
        e.specialTokensMask.push(1);
        e.tokens.push(padToken);
        e.offsets.push([0, 0]);
        e.wordIds.push(null);
        e.sequenceIds.push(null);
      }
    }
  }

  // ---- decoding --------------------------------------------------------------------------------

  /**
   * Ids back to text, as transformers' decode(): word pieces joined ("##" glued on), added
   * (non-special) tokens kept apart, then the clean-up of spaces before punctuation.
   */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const skip = options.skipSpecialTokens ?? false;
    const cleanUp = options.cleanUpTokenizationSpaces ?? this.parts.cleanUpTokenizationSpaces;
    const texts: string[] = [];
    let current: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = Number(ids[i]);
      if (!Number.isInteger(id)) throw new TypeError(`Expected integer token ids for ids but received ${describe(ids[i])} at index ${i}`);
      if (skip && this.specialIds.has(id)) continue;
      const token = this.convertIdsToTokens(id);
      const added = this.addedById.get(id);
      if (added !== undefined && !added.special) {
        if (current.length > 0) {
          const s = this.parts.decoder.decode(current);
          if (s.length > 0) texts.push(s);
          current = [];
        }
        texts.push(token);
      } else current.push(token);
    }
    if (current.length > 0) texts.push(this.parts.decoder.decode(current));
    const text = texts.join(" ");
    return cleanUp ? cleanUpTokenization(text) : text;
  }

  decodeBatch(batch: readonly ArrayLike<number>[], options: DecodeOptions = {}): string[] {
    return batch.map((ids) => this.decode(ids, options));
  }
}

/** Words numbered so far in one text (word ids; not counted when idsOnly), and whether offsets and word ids are wanted at all. */
interface WordCounter {
  word: number;
  idsOnly: boolean;
}

/** Longest argument list handed to push.apply at once (the arguments go on the stack). */
const APPEND_CHUNK = 8192;

/** target.push(...source), in chunks, by the builtin (no per-element JavaScript loop). */
function appendAll(target: number[], source: ArrayLike<number>): void {
  const n = source.length;
  if (n <= APPEND_CHUNK) {
    Array.prototype.push.apply(target, source as number[]);
    return;
  }
  for (let at = 0; at < n; at += APPEND_CHUNK) {
    const part = Array.prototype.slice.call(source, at, Math.min(n, at + APPEND_CHUNK)) as number[];
    Array.prototype.push.apply(target, part);
  }
}

/** Packed arrays of one value, grown by doubling; run(v, n) is a fresh array of n copies of v. */
const runs = new Map<number, number[]>();

function run(value: number, n: number): number[] {
  let r = runs.get(value);
  if (r === undefined || r.length < n) {
    const grown = r ?? [];
    const want = Math.max(n, 2 * grown.length, 64);
    while (grown.length < want) grown.push(value);
    runs.set(value, grown);
    r = grown;
  }
  return r.slice(0, n);
}

function span(ns: NormalizedString, from: number, to: number): [number, number] {
  if (ns.starts === null || ns.ends === null) return [from, to];
  return [ns.starts[from], ns.ends[to - 1]];
}

function sliceSequence(seq: TokenSequence, start: number, end: number): TokenSequence {
  return { ids: seq.ids.slice(start, end), offsets: seq.offsets.slice(2 * start, 2 * end), wordIds: seq.wordIds.slice(start, end) };
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === "string") return `the string ${JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value)}`;
  return `${typeof value} ${String(value)}`;
}

function checkText(value: unknown, name: string): void {
  if (typeof value !== "string") throw new TypeError(`Expected a string for ${name} but received ${describe(value)}`);
}

function checkInteger(value: unknown, name: string, min: number): void {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
    throw new TypeError(`Expected an integer >= ${min} for ${name} but received ${describe(value)}`);
  }
}
