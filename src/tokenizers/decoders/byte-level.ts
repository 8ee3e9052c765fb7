import { charToByte } from "../byte-to-unicode.js";
import type { Decoder } from "./decoder.js";

/**
 * Byte-level tokens back to text: each char is the byte it stands for, and the bytes are read as
 * UTF-8 with U+FFFD for invalid sequences (Python's errors="replace", Rust's from_utf8_lossy: one
 * U+FFFD per maximal invalid subpart). A token with a char outside the byte table (an added token
 * such as "héllo") contributes its own UTF-8 bytes, as tokenizers' ByteLevel decoder does.
 */
export class ByteLevelDecoder implements Decoder {
  // ignoreBOM: keep a leading U+FEFF, as Python's bytes.decode("utf-8") does.
  private readonly utf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });
  private readonly encoder = new TextEncoder();

  decode(tokens: readonly string[]): string {
    let total = 0;
    for (const t of tokens) total += t.length;
    let bytes = new Uint8Array(total);
    let n = 0;
    for (const token of tokens) {
      const start = n;
      let mapped = true;
      for (let i = 0; i < token.length; i++) {
        const b = charToByte(token.charCodeAt(i));
        if (b < 0) {
          mapped = false;
          break;
        }
        bytes[n++] = b;
      }
      if (!mapped) {
        const raw = this.encoder.encode(token);
        if (start + raw.length > bytes.length) {
          const grown = new Uint8Array(bytes.length + raw.length);
          grown.set(bytes.subarray(0, start));
          bytes = grown;
        }
        bytes.set(raw, start);
        n = start + raw.length;
      }
    }
    return this.utf8.decode(bytes.subarray(0, n));
  }
}
