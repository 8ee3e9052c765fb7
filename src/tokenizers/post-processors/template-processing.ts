import type { TemplatePieceJson, TemplateProcessingJson } from "../tokenizer-json.js";
import type { PostProcessor, TemplatePiece } from "./post-processor.js";
import { ownEntry } from "../../io/model-files.js";

/** tokenizers' TemplateProcessing: explicit templates such as "[CLS]:0 $A:0 [SEP]:0". */
export class TemplateProcessing implements PostProcessor {
  constructor(
    private readonly single: readonly TemplatePiece[],
    private readonly pair: readonly TemplatePiece[],
  ) {}

  static fromJson(config: TemplateProcessingJson, source: string): TemplateProcessing {
    const convert = (pieces: TemplatePieceJson[] | undefined, what: string): TemplatePiece[] => {
      if (!Array.isArray(pieces)) throw new Error(`${source}: post_processor.${what} is missing`);
      return pieces.map((p): TemplatePiece => {
        if (typeof p !== "object" || p === null) throw new Error(`${source}: post_processor.${what} holds ${JSON.stringify(p)}, not a template piece`);
        if ("SpecialToken" in p) {
          const table = config.special_tokens;
          const special = typeof table === "object" && table !== null ? ownEntry(table, String(p.SpecialToken?.id)) : undefined;
          if (!special || !Array.isArray(special.ids) || !special.ids.every((id) => Number.isInteger(id) && id >= 0)) {
            throw new Error(`${source}: post_processor special token ${JSON.stringify(p.SpecialToken?.id)} has no ids in special_tokens`);
          }
          return { kind: "special", ids: special.ids.slice(), typeId: p.SpecialToken.type_id };
        }
        if ("Sequence" in p) return { kind: "sequence", sequence: p.Sequence.id === "B" ? 1 : 0, typeId: p.Sequence.type_id };
        throw new Error(`${source}: unreadable post_processor template piece ${JSON.stringify(p)}`);
      });
    };
    return new TemplateProcessing(convert(config.single, "single"), convert(config.pair, "pair"));
  }

  template(isPair: boolean): readonly TemplatePiece[] {
    return isPair ? this.pair : this.single;
  }
}
