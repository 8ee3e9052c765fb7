/**
 * Character classes the BERT normalizer and pre-tokenizer need, looked up per code point.
 * ASCII is a fixed table; everything else is classified once with Unicode property regexes and
 * remembered in a lazily filled byte table, so the hot loops never run a regex twice for a char.
 */

/**
 * Any "C" category (Cc, Cf, Cs, Co, Cn), tab, newline and carriage return excepted (they are
 * whitespace): what clean_text removes, in transformers' slow BertTokenizer (`_is_control`:
 * `category(char).startswith("C")`) and in the Rust BertNormalizer (`char::is_other`) alike.
 */
export const CONTROL = 1;
/** Whitespace for BERT: \t \n \r, Zs, and the line/paragraph separators Python's str.split() also splits on. */
export const WHITESPACE = 4;
/** ASCII 33-47, 58-64, 91-96, 123-126, and every P* category (HF's _is_punctuation). */
export const PUNCTUATION = 8;
/** HF's _is_chinese_char ranges (CJK unified ideographs and compatibility ideographs). */
export const CJK = 16;
/** Mn: dropped after NFD when accents are stripped. */
export const NONSPACING_MARK = 32;
const KNOWN = 128;

const table = new Uint8Array(0x110000);

const controlRe = /^\p{C}$/u;
const whitespaceRe = /^[\p{Zs}\p{Zl}\p{Zp}]$/u;
const punctuationRe = /^\p{P}$/u;
const markRe = /^\p{Mn}$/u;

function isCjkCodePoint(cp: number): boolean {
  // The exact ranges of transformers' BasicTokenizer._is_chinese_char (Hangul and kana are not included).
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

function classify(cp: number): number {
  if (cp === 9 || cp === 10 || cp === 13) return WHITESPACE | KNOWN;
  const ch = String.fromCodePoint(cp);
  let flags = KNOWN;
  if (controlRe.test(ch)) flags |= CONTROL;
  if (whitespaceRe.test(ch)) flags |= WHITESPACE;
  if ((cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126)) {
    flags |= PUNCTUATION;
  } else if (punctuationRe.test(ch)) {
    flags |= PUNCTUATION;
  }
  if (isCjkCodePoint(cp)) flags |= CJK;
  if (markRe.test(ch)) flags |= NONSPACING_MARK;
  return flags;
}

/** The flags of one code point (a lone surrogate is its own code point, category Cs). */
export function charFlags(cp: number): number {
  let f = table[cp];
  if (f === 0) {
    f = classify(cp);
    table[cp] = f;
  }
  return f;
}

// Fill ASCII eagerly: the pre-tokenizer reads it without the lazy check.
for (let cp = 0; cp < 128; cp++) charFlags(cp);
export const ASCII_FLAGS: Uint8Array = table.subarray(0, 128);

/** Is every code unit printable ASCII or \t \n \r? Such text needs no cleaning, CJK or accent work. */
export function isPlainAscii(text: string): boolean {
  return !/[^\x20-\x7e\t\n\r]/.test(text);
}

/** Number of code points in s (Python's len()). */
export function codePointLength(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d <= 0xdfff) {
        n--;
        i++;
      }
    }
  }
  return n;
}

/** Python's str.isspace() for the first character (slow tokenizers' whitespace tests). */
export const PYTHON_SPACE = /^[\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]/;

/** Length of s in UTF-8 bytes (a lone surrogate counts 3, as U+FFFD). */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && s.charCodeAt(i + 1) >= 0xdc00 && s.charCodeAt(i + 1) <= 0xdfff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}
