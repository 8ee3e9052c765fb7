/** BertPooler: pooler_output = tanh(W · h[CLS] + b), on each sequence's first token (modeling_bert.py BertPooler). */
import type { Backend, LinearParams } from "../../backend/backend.js";
import type { BertConfig } from "../../config/bert-config.js";
import type { Checkpoint } from "../checkpoint.js";

export class BertPooler {
  private constructor(private readonly dense: LinearParams) {}

  /**
   * name: the dense layer's name under the base prefix ("pooler.dense"; ALBERT "pooler").
   * undefined when the checkpoint has no pooler (e.g. token classifiers): pooler_output is then unavailable.
   */
  static loadIfPresent(ckpt: Checkpoint, config: BertConfig, backend: Backend, name: string): BertPooler | undefined {
    const h = config.hidden_size;
    if (!ckpt.hasBase(`${name}.weight`) || !ckpt.hasBase(`${name}.bias`)) {
      ckpt.noteMissing(`${ckpt.basePrefix}${name}.weight`);
      ckpt.noteMissing(`${ckpt.basePrefix}${name}.bias`);
      return undefined;
    }
    const bias = ckpt.base(`${name}.bias`, [h]);
    // In the checkpoint's precision, like the encoder's layers (the backend converts while packing).
    return new BertPooler(backend.prepareLinear(ckpt.stackedBaseWeights([`${name}.weight`], [h], h), bias, h, h));
  }

  /** clsRows: (numSeqs, hidden) → (numSeqs, hidden). */
  forward(clsRows: Float32Array, numSeqs: number, backend: Backend): Float32Array {
    return backend.linear(clsRows, numSeqs, this.dense, "tanh");
  }
}
