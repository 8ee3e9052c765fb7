/**
 * From request inputs to token ids, on the HTTP thread: length checks (an over-long input is an
 * error unless the request allows truncation, as in text-embeddings-inference), truncation from the
 * right (the tokenizer's own, so results equal SentenceEncoder's) or from the left.
 */
import type { Encoding } from "../tokenizers/encoding.js";
import type { Tokenizer } from "../tokenizers/tokenizer.js";
import { empty, emptyInput, invalid, tooLarge } from "./errors.js";

export type TruncationDirection = "Right" | "Left";

export interface LengthPolicy {
  /** Most tokens per input, special tokens included. */
  maxLength: number;
  truncate: boolean;
  direction: TruncationDirection;
}

export interface EncodedInput {
  ids: number[];
  typeIds: number[];
}

/** A text, or a pair of texts encoded together ([CLS] a [SEP] b [SEP]). */
export type SequenceInput = string | [string, string];

/**
 * Texts longer than this many characters per allowed token are first cut (at a space) to a piece
 * that still has more tokens than allowed, so a 2 MB text costs a few ms, not a second, on the
 * HTTP thread. The piece's tokens are the text's first (or last) ones, so results do not change.
 */
const CHARS_PER_TOKEN_BEFORE_CLIP = 16;

export function encodeInput(tokenizer: Tokenizer, input: SequenceInput, policy: LengthPolicy): EncodedInput {
  const [a, b] = typeof input === "string" ? [input, null] : input;
  const ca = clip(tokenizer, a, policy);
  const cb = b === null ? null : clip(tokenizer, b, policy);
  const full = tokenizer.encode(ca.text, cb?.text ?? null, { truncation: false });
  const n = full.inputIds.length;
  if (n <= policy.maxLength && !ca.clipped && !cb?.clipped) return { ids: full.inputIds, typeIds: full.tokenTypeIds };
  if (!policy.truncate) {
    const given = ca.clipped || cb?.clipped ? `more than ${n}` : String(n);
    throw tooLarge(`Input validation error: \`inputs\` must have less than ${policy.maxLength} tokens. Given: ${given}`);
  }
  const right = tokenizer.encode(ca.text, cb?.text ?? null, { truncation: "longest_first", maxLength: policy.maxLength });
  if (policy.direction === "Right") return { ids: right.inputIds, typeIds: right.tokenTypeIds };
  return keepLast(full, right);
}

/**
 * Left truncation: the same number of tokens per sequence as right truncation keeps (so pairs are
 * cut longest-first too), taken from each sequence's end; special tokens stay where they are.
 */
function keepLast(full: Encoding, right: Encoding): EncodedInput {
  const kept = [0, 0];
  const total = [0, 0];
  for (const s of right.sequenceIds) if (s !== null) kept[s]++;
  for (const s of full.sequenceIds) if (s !== null) total[s]++;
  const seen = [0, 0];
  const out: EncodedInput = { ids: [], typeIds: [] };
  full.inputIds.forEach((id, k) => {
    const s = full.sequenceIds[k];
    if (s !== null && seen[s]++ < total[s] - kept[s]) return;
    out.ids.push(id);
    out.typeIds.push(full.tokenTypeIds[k]);
  });
  return out;
}

const isSpace = (c: string | undefined): boolean => c === " " || c === "\t" || c === "\n" || c === "\r";

/**
 * A piece of a very long text that already has more than maxLength tokens: a prefix ending just
 * before a run of spaces (for right truncation) or a suffix starting at one (left), so no word is
 * split and the piece tokenises exactly like that part of the whole text.
 */
function clip(tokenizer: Tokenizer, text: string, policy: LengthPolicy): { text: string; clipped: boolean } {
  let size = policy.maxLength * CHARS_PER_TOKEN_BEFORE_CLIP;
  while (size < text.length) {
    const piece = policy.direction === "Right" ? prefixAtSpace(text, size) : suffixAtSpace(text, size);
    if (piece.length >= text.length) break;
    const n = tokenizer.encode(piece, null, { addSpecialTokens: false, truncation: false }).inputIds.length;
    if (n > policy.maxLength) return { text: piece, clipped: true };
    size *= 4;
  }
  return { text, clipped: false };
}

function prefixAtSpace(text: string, size: number): string {
  for (let i = size; i < text.length; i++) if (isSpace(text[i]) && !isSpace(text[i - 1])) return text.slice(0, i);
  return text;
}

function suffixAtSpace(text: string, size: number): string {
  for (let i = text.length - size; i > 0; i--) if (isSpace(text[i]) && !isSpace(text[i - 1])) return text.slice(i);
  return text;
}

/**
 * Raw token ids sent instead of text (TEI's and OpenAI's token-array inputs): this model's
 * vocabulary ids, used as given, no special tokens added. `where` names the input in errors.
 */
export function encodeIds(ids: readonly number[], vocabSize: number, policy: LengthPolicy, where = "inputs"): EncodedInput {
  ids.forEach((id, k) => {
    if (!Number.isInteger(id) || id < 0 || id >= vocabSize) {
      throw invalid(`Input validation error: \`${where}\` token ${k} is id ${id}, outside the model's vocabulary (0..${vocabSize - 1})`);
    }
  });
  let kept = ids;
  if (ids.length > policy.maxLength) {
    if (!policy.truncate) throw tooLarge(`Input validation error: \`${where}\` must have less than ${policy.maxLength} tokens. Given: ${ids.length}`);
    kept = policy.direction === "Right" ? ids.slice(0, policy.maxLength) : ids.slice(ids.length - policy.maxLength);
  }
  return { ids: [...kept], typeIds: new Array<number>(kept.length).fill(0) };
}

/** One input of an embedding request: a text, or token ids (TEI and OpenAI accept both). */
export type EmbedInput = string | number[];

export interface EmbedInputList {
  /** The request gave one input, not a list (TEI's `single` method). */
  single: boolean;
  items: EmbedInput[];
  /** What TEI's x-compute-characters counts: characters of texts, ids of token lists. */
  chars: number;
}

/**
 * TEI's reading of `inputs` (and OpenAI's of `input`): a string or a list of numbers is one input;
 * a list of strings and/or lists of numbers is a batch. No inputs (`[]`) and an input with nothing
 * in it (`""`, `[[]]`) are refused alike, 400 `empty` (TEI and OpenAI refuse both too).
 */
export function embedInputList(inputs: EmbedInput | EmbedInput[], field: string, maxClientBatchSize: number): EmbedInputList {
  const single = typeof inputs === "string" || (inputs.length > 0 && inputs.every((x) => typeof x === "number"));
  const items = single ? [inputs as EmbedInput] : (inputs as EmbedInput[]);
  if (items.length === 0) throw empty(field);
  if (items.length > maxClientBatchSize) throw tooLarge(`batch size ${items.length} > maximum allowed batch size ${maxClientBatchSize}`);
  let chars = 0;
  items.forEach((x, i) => {
    if (x.length === 0) throw emptyInput(single ? field : `${field}[${i}]`, typeof x === "string" ? "string" : "list of token ids");
    chars += typeof x === "string" ? countChars(x) : x.length;
  });
  return { single, items, chars };
}

/** A text (after the request's prompt) or token ids, as the model's ids. */
export function encodeEmbedInput(tokenizer: Tokenizer, item: EmbedInput, where: string, prompt: string, policy: LengthPolicy, vocabSize: number): EncodedInput {
  if (typeof item === "string") return encodeInput(tokenizer, prompt + item, policy);
  // A prompt is text; token ids are already the model's input (TEI decodes and re-encodes them: bert-ts does not guess).
  if (prompt !== "") throw invalid(`\`${where}\` is token ids, which cannot take a prompt (prompt_name or the model's default prompt): send text, or put the prompt's ids in the list`);
  return encodeIds(item, vocabSize, policy, where);
}

/** Unicode code points, as Rust's chars().count() (TEI's character counts). */
export function countChars(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xdc00 || c > 0xdfff || i === 0 || (text.charCodeAt(i - 1) & 0xfc00) !== 0xd800) n++;
  }
  return n;
}
