import type { PostProcessor, TemplatePiece } from "./post-processor.js";

/** BERT's fixed layout: [CLS] A [SEP] (type 0), then B [SEP] (type 1) for a pair. */
export class BertProcessing implements PostProcessor {
  private readonly single: TemplatePiece[];
  private readonly pair: TemplatePiece[];

  constructor(clsId: number, sepId: number) {
    const cls: TemplatePiece = { kind: "special", ids: [clsId], typeId: 0 };
    const sep0: TemplatePiece = { kind: "special", ids: [sepId], typeId: 0 };
    const sep1: TemplatePiece = { kind: "special", ids: [sepId], typeId: 1 };
    this.single = [cls, { kind: "sequence", sequence: 0, typeId: 0 }, sep0];
    this.pair = [...this.single, { kind: "sequence", sequence: 1, typeId: 1 }, sep1];
  }

  template(isPair: boolean): readonly TemplatePiece[] {
    return isPair ? this.pair : this.single;
  }
}
