/**
 * A vocabulary's token → id lookup held in five typed arrays instead of a Map of 30k strings:
 * building that Map (and the strings) was ~35 ms of every `embed` start, and half of the garbage
 * its collector then walked. The arrays are what the tokenizer cache file stores
 * (io/tokenizer-json-cache.ts), so a later load reads them in place and builds nothing; a token's
 * string is made only when asked for (`tokenOf`, iteration).
 *
 * Open addressing on an FNV-1a hash of the UTF-16 code units, linear probing, load ≤ 1/2. It reads
 * as a ReadonlyMap (get / has / size / iteration in insertion order, later duplicates overwriting
 * the id as Map.set does) plus what WordPiece needs without making substrings: `getRange`, the id of
 * `prefix + text.slice(start, end)`.
 */
export interface TokenTableArrays {
  /** Every distinct token's code units, one after another. */
  chars: Uint16Array;
  /** Token e is chars[starts[e] .. starts[e + 1]); length = entries + 1. */
  starts: Uint32Array;
  /** Token e's id. */
  ids: Int32Array;
  /** Hash slots: entry + 1, 0 for empty; length a power of two. */
  slots: Int32Array;
  /** id → entry + 1 of its token (0: no token has that id). */
  entryOfId: Int32Array;
}

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

function hashRange(prefix: string, text: string, start: number, end: number): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < prefix.length; i++) h = Math.imul(h ^ prefix.charCodeAt(i), FNV_PRIME);
  for (let i = start; i < end; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return h ^ (h >>> 15);
}

export class TokenTable implements ReadonlyMap<string, number> {
  readonly size: number;
  /** One more than the largest id. */
  readonly idCount: number;
  /** The longest token, in UTF-16 code units. */
  readonly maxTokenLength: number;
  private readonly mask: number;
  /** Tokens made into strings so far, by id (sized on first use: a growing sparse array is slow). */
  private made: (string | undefined)[] | undefined;

  constructor(readonly arrays: TokenTableArrays) {
    const { starts, ids, slots, entryOfId } = arrays;
    this.size = ids.length;
    this.idCount = entryOfId.length;
    this.mask = slots.length - 1;
    let longest = 0;
    for (let e = 0; e < this.size; e++) longest = Math.max(longest, starts[e + 1] - starts[e]);
    this.maxTokenLength = longest;
  }

  /**
   * The table of (token, id) pairs in order, with Map.set's rule for a repeated token (its first
   * position, the last id), and for each id the token last given it (as `idToToken[id] = token`).
   */
  static build(tokens: readonly string[], ids: readonly number[]): TokenTable {
    let capacity = 16;
    while (capacity < 2 * tokens.length) capacity *= 2;
    const slots = new Int32Array(capacity);
    const mask = capacity - 1;
    let totalChars = 0;
    for (const t of tokens) totalChars += t.length;
    const chars = new Uint16Array(totalChars);
    const starts = new Uint32Array(tokens.length + 1);
    const entryIds = new Int32Array(tokens.length);
    const entryOfToken = new Int32Array(tokens.length);
    let entries = 0;
    let at = 0;
    let maxId = -1;
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i];
      let slot = hashRange("", token, 0, token.length) & mask;
      let entry = -1;
      for (;;) {
        const s = slots[slot];
        if (s === 0) break;
        if (sameChars(chars, starts[s - 1], starts[s], "", token, 0, token.length)) {
          entry = s - 1;
          break;
        }
        slot = (slot + 1) & mask;
      }
      if (entry < 0) {
        entry = entries++;
        for (let k = 0; k < token.length; k++) chars[at + k] = token.charCodeAt(k);
        at += token.length;
        starts[entry + 1] = at;
        slots[slot] = entry + 1;
      }
      entryIds[entry] = ids[i];
      entryOfToken[i] = entry;
      if (ids[i] > maxId) maxId = ids[i];
    }
    const entryOfId = new Int32Array(maxId + 1);
    for (let i = 0; i < tokens.length; i++) entryOfId[ids[i]] = entryOfToken[i] + 1;
    return new TokenTable({ chars: chars.subarray(0, at), starts: starts.subarray(0, entries + 1), ids: entryIds.subarray(0, entries), slots, entryOfId });
  }

  get(token: string): number | undefined {
    return this.getRange(token, 0, token.length);
  }

  has(token: string): boolean {
    return this.getRange(token, 0, token.length) !== undefined;
  }

  /** The id of `prefix + text.slice(start, end)`, without making that string. */
  getRange(text: string, start: number, end: number, prefix = ""): number | undefined {
    const { chars, starts, slots, ids } = this.arrays;
    let slot = hashRange(prefix, text, start, end) & this.mask;
    for (;;) {
      const s = slots[slot];
      if (s === 0) return undefined;
      if (sameChars(chars, starts[s - 1], starts[s], prefix, text, start, end)) return ids[s - 1];
      slot = (slot + 1) & this.mask;
    }
  }

  /** Whether some token has this id. */
  hasId(id: number): boolean {
    return id >= 0 && id < this.idCount && this.arrays.entryOfId[id] !== 0;
  }

  /** The token last given this id, or undefined. Every encoded token asks: made once, then one array read. */
  tokenOf(id: number): string | undefined {
    return this.made?.[id] ?? this.makeToken(id);
  }

  private makeToken(id: number): string | undefined {
    const e = id >= 0 && id < this.idCount ? this.arrays.entryOfId[id] - 1 : -1;
    if (e < 0) return undefined;
    const token = this.tokenAt(e);
    (this.made ??= new Array<string | undefined>(this.idCount).fill(undefined))[id] = token;
    return token;
  }

  private tokenAt(entry: number): string {
    const { chars, starts } = this.arrays;
    return decodeUtf16(chars, starts[entry], starts[entry + 1]);
  }

  *entries(): MapIterator<[string, number]> {
    for (let e = 0; e < this.size; e++) yield [this.tokenAt(e), this.arrays.ids[e]];
  }

  *keys(): MapIterator<string> {
    for (let e = 0; e < this.size; e++) yield this.tokenAt(e);
  }

  *values(): MapIterator<number> {
    for (let e = 0; e < this.size; e++) yield this.arrays.ids[e];
  }

  [Symbol.iterator](): MapIterator<[string, number]> {
    return this.entries();
  }

  forEach(callback: (value: number, key: string, map: ReadonlyMap<string, number>) => void, thisArg?: unknown): void {
    for (let e = 0; e < this.size; e++) callback.call(thisArg, this.arrays.ids[e], this.tokenAt(e), this);
  }
}

function sameChars(chars: Uint16Array, from: number, to: number, prefix: string, text: string, start: number, end: number): boolean {
  if (to - from !== prefix.length + end - start) return false;
  let k = from;
  for (let i = 0; i < prefix.length; i++, k++) if (chars[k] !== prefix.charCodeAt(i)) return false;
  for (let i = start; i < end; i++, k++) if (chars[k] !== text.charCodeAt(i)) return false;
  return true;
}

/** The code units as a string, lone surrogates included (a TextDecoder would replace them). */
function decodeUtf16(chars: Uint16Array, from: number, to: number): string {
  let text = "";
  for (let at = from; at < to; at += 4096) text += String.fromCharCode.apply(null, chars.subarray(at, Math.min(to, at + 4096)) as unknown as number[]);
  return text;
}
