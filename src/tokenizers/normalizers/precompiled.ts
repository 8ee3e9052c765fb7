/**
 * SentencePiece's precompiled character map: NFKC-style rewrite rules stored as a Darts-clone
 * double-array trie over UTF-8 bytes, followed by the NUL-terminated replacement strings. The
 * layout is [u32 little-endian trie size in bytes][trie units, u32 each][replacements].
 *
 * Two users, with the two lookups their references make:
 * - sentencepiece's normalizer.cc (the `.model` path): the LONGEST rule that is a prefix of the
 *   remaining text (`longestMatch`).
 * - tokenizers' Precompiled normalizer (the `tokenizer.json` path): for each grapheme cluster
 *   under 6 UTF-8 bytes, the FIRST (shortest) rule that is a prefix of the cluster replaces the
 *   whole cluster; otherwise each character on its own (`PrecompiledNormalizer` below).
 */
import { AlignedStringBuilder, identityNormalized, type NormalizedString } from "../normalized-string.js";
import { utf8Length } from "../unicode.js";
import type { Normalizer } from "./normalizer.js";

const utf8Decoder = new TextDecoder("utf-8", { fatal: true });

export interface CharsMapMatch {
  /** Code units of the input the rule covers. */
  length: number;
  replacement: string;
}

export class CharsMap {
  private readonly units: Uint32Array;
  private readonly strings: Uint8Array;
  private readonly replacements = new Map<number, string>();
  /** Code points below 128 that start no rule (most of ASCII), so plain text skips the trie. */
  private readonly asciiFree = new Uint8Array(128);
  private readonly source: string;

  /** `source` names the file and field in errors. */
  constructor(bytes: Uint8Array, source: string) {
    if (bytes.length < 4) throw new Error(`${source}: precompiled_charsmap is truncated (${bytes.length} bytes)`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const trieSize = view.getUint32(0, true);
    if (trieSize % 4 !== 0 || trieSize === 0 || 4 + trieSize > bytes.length) {
      throw new Error(`${source}: precompiled_charsmap trie size ${trieSize} does not fit its ${bytes.length} bytes (truncated or corrupt)`);
    }
    this.units = new Uint32Array(trieSize / 4);
    for (let i = 0; i < this.units.length; i++) this.units[i] = view.getUint32(4 + 4 * i, true);
    this.strings = bytes.slice(4 + trieSize);
    this.source = source;
    for (let c = 1; c < 128; c++) this.asciiFree[c] = this.startsRule(c) ? 0 : 1;
  }

  /**
   * Follows the UTF-8 bytes of text's code points from `start`, calling `leaf(end, value)` at each
   * rule that ends there (shortest first; `leaf` returns false to stop). A NUL byte ends the
   * search, as in tokenizers (Darts keys cannot hold NUL).
   */
  private search(text: string, start: number, leaf: (end: number, value: number) => boolean): void {
    const units = this.units;
    const bytes: number[] = [];
    let node = offset(units[0]);
    for (let i = start; i < text.length; ) {
      const cp = text.codePointAt(i) ?? 0;
      bytes.length = 0;
      utf8Bytes(cp, bytes);
      let unit = 0;
      for (const b of bytes) {
        if (b === 0) return;
        node ^= b;
        unit = units[node] ?? 0;
        if (label(unit) !== b) return;
        node ^= offset(unit);
      }
      i += cp > 0xffff ? 2 : 1;
      // Keys are whole characters, so a rule can only end after a character's last byte; the
      // leaf unit below the node holds the offset of its replacement.
      if (hasLeaf(unit) && !leaf(i, value(units[node] ?? 0))) return;
    }
  }

  /** Does any rule start with this ASCII character? */
  private startsRule(c: number): boolean {
    const unit = this.units[offset(this.units[0]) ^ c] ?? 0;
    return label(unit) === c;
  }

  /** No rule starts with this ASCII character. */
  hasNoRule(c: number): boolean {
    return c > 0 && c < 128 && this.asciiFree[c] === 1;
  }

  /** sentencepiece's rule: the longest rule that is a prefix of text[start...], or null. */
  longestMatch(text: string, start: number): CharsMapMatch | null {
    const c = text.charCodeAt(start);
    if (c < 128 && this.asciiFree[c] === 1) return null;
    let bestEnd = -1;
    let bestValue = 0;
    this.search(text, start, (end, v) => {
      bestEnd = end;
      bestValue = v;
      return true;
    });
    return bestEnd < 0 ? null : { length: bestEnd - start, replacement: this.replacement(bestValue) };
  }

  /** tokenizers' `transform`: the first (shortest) rule that is a prefix of `chunk`, or null. */
  firstMatch(chunk: string): string | null {
    const c = chunk.charCodeAt(0);
    if (c < 128 && this.asciiFree[c] === 1) return null;
    let found = -1;
    this.search(chunk, 0, (_end, v) => {
      found = v;
      return false;
    });
    return found < 0 ? null : this.replacement(found);
  }

  private replacement(at: number): string {
    let s = this.replacements.get(at);
    if (s !== undefined) return s;
    if (at >= this.strings.length) throw new Error(`${this.source}: precompiled_charsmap points past its replacement strings (corrupt)`);
    let end = at;
    while (end < this.strings.length && this.strings[end] !== 0) end++;
    try {
      s = utf8Decoder.decode(this.strings.subarray(at, end));
    } catch {
      throw new Error(`${this.source}: precompiled_charsmap holds a replacement that is not UTF-8 (corrupt)`);
    }
    this.replacements.set(at, s);
    return s;
  }
}

// Darts-clone unit layout (see darts.h): label in bits 0-7 (bit 31 marks a leaf unit), has-leaf
// flag in bit 8, offset in bits 10-31 scaled by bit 9, value in bits 0-30 of a leaf unit.
function label(unit: number): number {
  return (unit & 0x800000ff) >>> 0;
}
function hasLeaf(unit: number): boolean {
  return ((unit >>> 8) & 1) === 1;
}
function value(unit: number): number {
  return unit & 0x7fffffff;
}
function offset(unit: number): number {
  return (unit >>> 10) << ((unit & 0x200) >>> 6);
}

function utf8Bytes(cp: number, out: number[]): void {
  if (cp < 0x80) out.push(cp);
  else if (cp < 0x800) out.push(0xc0 | (cp >> 6), 0x80 | (cp & 63));
  else if (cp < 0x10000) out.push(0xe0 | (cp >> 12), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
  else out.push(0xf0 | (cp >> 18), 0x80 | ((cp >> 12) & 63), 0x80 | ((cp >> 6) & 63), 0x80 | (cp & 63));
}

/** Made on first use: creating an Intl.Segmenter loads ICU data (~15 ms), a cost every CLI start paid at import. */
let graphemes: Intl.Segmenter | undefined;

/**
 * tokenizers' Precompiled normalizer (tokenizer.json): grapheme by grapheme, a cluster of fewer
 * than 6 UTF-8 bytes that starts with a rule is replaced by that rule's output as a whole;
 * otherwise each character is looked up alone. Replacements keep the alignment of what they
 * replace.
 */
export class PrecompiledNormalizer implements Normalizer {
  readonly lowercases = false;
  private readonly map: CharsMap;

  constructor(charsmap: Uint8Array, source: string) {
    this.map = new CharsMap(charsmap, source);
  }

  normalize(text: string): NormalizedString {
    let out: AlignedStringBuilder | null = null;
    let copiedTo = 0;
    const flushTo = (b: AlignedStringBuilder, to: number): void => {
      if (to > copiedTo) b.pushAligned(text.slice(copiedTo, to), copiedTo);
      copiedTo = to;
    };
    for (const { segment, index } of (graphemes ??= new Intl.Segmenter(undefined, { granularity: "grapheme" })).segment(text)) {
      if (utf8Length(segment) < 6) {
        const whole = this.map.firstMatch(segment);
        if (whole !== null) {
          out ??= new AlignedStringBuilder(text.length + 8);
          flushTo(out, index);
          out.push(whole, index, index + segment.length);
          copiedTo = index + segment.length;
          continue;
        }
      }
      for (let i = 0; i < segment.length; ) {
        const cp = segment.codePointAt(i) ?? 0;
        const width = cp > 0xffff ? 2 : 1;
        const ch = segment.slice(i, i + width);
        const rule = this.map.firstMatch(ch);
        if (rule !== null) {
          out ??= new AlignedStringBuilder(text.length + 8);
          flushTo(out, index + i);
          out.push(rule, index + i, index + i + width);
          copiedTo = index + i + width;
        }
        i += width;
      }
    }
    if (out === null) return identityNormalized(text);
    flushTo(out, text.length);
    return out.finish();
  }
}
