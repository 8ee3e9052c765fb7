/** BertPooler: pooler_output = tanh(W · h[CLS] + b), on each sequence's first token (modeling_bert.py BertPooler). */
import type { Backend, LinearParams } from "../../backend/backend.js";
import type { BertConfig } from "../../config/bert-config.js";
import type { Checkpoint } from "../checkpoint.js";

export class BertPooler {
  private constructor(private readonly dense: LinearParams) {}

  /** undefined when the checkpoint has no pooler (e.g. token classifiers): pooler_output is then unavailable. */
  static loadIfPresent(ckpt: Checkpoint, config: BertConfig, backend: Backend): BertPooler | undefined {
    const h = config.hidden_size;
    const weight = ckpt.baseOptional("pooler.dense.weight", [h, h]);
    const bias = ckpt.baseOptional("pooler.dense.bias", [h]);
    if (!weight || !bias) {
      ckpt.noteMissing(`${ckpt.basePrefix}pooler.dense.weight`);
      ckpt.noteMissing(`${ckpt.basePrefix}pooler.dense.bias`);
      return undefined;
    }
    return new BertPooler(backend.prepareLinear(weight, bias, h, h));
  }

  /** clsRows: (numSeqs, hidden) → (numSeqs, hidden). */
  forward(clsRows: Float32Array, numSeqs: number, backend: Backend): Float32Array {
    return backend.linear(clsRows, numSeqs, this.dense, "tanh");
  }
}
