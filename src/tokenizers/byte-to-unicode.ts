/**
 * GPT-2's byte ↔ character table (bytes_to_unicode in transformers' tokenization_gpt2.py): every
 * byte gets a printable character so BPE vocabularies never hold spaces or control characters.
 * Printable Latin-1 bytes ("!".."~", "¡".."¬", "®".."ÿ") stand for themselves; the 68 others are
 * numbered from U+0100 upwards in byte order (space → "Ġ" U+0120, "\n" → "Ċ" U+010A).
 */

function buildByteToChar(): Uint16Array {
  const table = new Uint16Array(256);
  const keeps = (b: number): boolean => (b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || (b >= 0xae && b <= 0xff);
  let next = 0;
  for (let b = 0; b < 256; b++) table[b] = keeps(b) ? b : 0x100 + next++;
  return table;
}

/** BYTE_TO_CHAR[byte]: the char code standing for the byte. */
export const BYTE_TO_CHAR: Uint16Array = buildByteToChar();

/** Highest char code in the table (U+0143), so the reverse table stays small. */
const MAX_CHAR = 0x143;

function buildCharToByte(): Int16Array {
  const table = new Int16Array(MAX_CHAR + 1).fill(-1);
  for (let b = 0; b < 256; b++) table[BYTE_TO_CHAR[b]] = b;
  return table;
}

const CHAR_TO_BYTE_TABLE: Int16Array = buildCharToByte();

/** The byte a char code stands for, or -1 when it is not one of the 256 byte characters. */
export function charToByte(code: number): number {
  return code <= MAX_CHAR ? CHAR_TO_BYTE_TABLE[code] : -1;
}

/** The byte-level char code of the space byte ("Ġ"). */
export const SPACE_CHAR = BYTE_TO_CHAR[0x20];
