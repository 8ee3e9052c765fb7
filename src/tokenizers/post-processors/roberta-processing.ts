import { SPACE_CHAR } from "../byte-to-unicode.js";
import type { PostProcessor, TemplatePiece } from "./post-processor.js";

const WHITE_SPACE = /^\p{White_Space}$/u;

function isSpace(code: number): boolean {
  return code === SPACE_CHAR || (code >= 0x09 && code <= 0x0d) || code === 0x20 || (code > 0x7f && WHITE_SPACE.test(String.fromCharCode(code)));
}

/**
 * RoBERTa's layout (tokenizers' RobertaProcessing): <s> A </s> for one text, <s> A </s></s> B </s>
 * for a pair, every token of type 0 (RoBERTa has a single token type). With trimOffsets, a token's
 * offsets leave out the spaces it carries ("Ġworld" → the span of "world"), except the one space
 * add_prefix_space put before the first word.
 */
export class RobertaProcessing implements PostProcessor {
  private readonly single: TemplatePiece[];
  private readonly pair: TemplatePiece[];

  constructor(
    clsId: number,
    sepId: number,
    private readonly trimOffsets = true,
    private readonly addPrefixSpace = false,
  ) {
    const cls: TemplatePiece = { kind: "special", ids: [clsId], typeId: 0 };
    const sep: TemplatePiece = { kind: "special", ids: [sepId], typeId: 0 };
    this.single = [cls, { kind: "sequence", sequence: 0, typeId: 0 }, sep];
    this.pair = [...this.single, sep, { kind: "sequence", sequence: 1, typeId: 0 }, sep];
  }

  template(isPair: boolean): readonly TemplatePiece[] {
    return isPair ? this.pair : this.single;
  }

  /** tokenizers' process_offsets (byte_level.rs), on UTF-16 offsets: every space is one code unit. */
  processOffsets(token: string, offsets: [number, number], first: boolean): void {
    if (!this.trimOffsets || token.length === 0) return;
    let leading = 0;
    while (leading < token.length && isSpace(token.charCodeAt(leading))) leading++;
    if (leading === 0 && !isSpace(token.charCodeAt(token.length - 1))) return;
    let trailing = 0;
    while (trailing < token.length && isSpace(token.charCodeAt(token.length - 1 - trailing))) trailing++;
    if (leading > 0) {
      if ((first || offsets[0] === 0) && this.addPrefixSpace && leading === 1) leading = 0;
      offsets[0] = Math.min(offsets[0] + leading, offsets[1]);
    }
    if (trailing > 0 && offsets[1] >= trailing) offsets[1] = Math.max(offsets[1] - trailing, offsets[0]);
  }
}
