/**
 * Token classification (NER, POS): a linear classifier on every token's last hidden state.
 * Mirrors modeling_bert.py BertForTokenClassification (built without a pooler; dropout is a no-op
 * at inference).
 */
import type { LinearParams } from "../backend/backend.js";
import type { LoadReport } from "../models/checkpoint.js";
import { BertModel, type LoadOptions } from "../models/bert/model.js";
import type { EncoderOutput } from "../models/output.js";
import { Tensor } from "../tensor/tensor.js";
import type { ModelInput } from "../tokenizers/encoding.js";
import { headLoadReport, readHeadTensors } from "./head-loading.js";

const TENSORS = ["classifier.weight", "classifier.bias"] as const;

/** Per-token logits of a batch, packed like the encoder output (real tokens only). */
export class TokenClassifierOutput {
  constructor(
    /** (totalTokens, numLabels) */
    readonly packedLogits: Float32Array,
    readonly numLabels: number,
    readonly encoder: EncoderOutput,
  ) {}

  get batchSize(): number {
    return this.encoder.batchSize;
  }

  /** (len, numLabels) logits of sequence i (Hugging Face's `logits[i]` without padding), sharing memory. */
  logits(i: number): Tensor {
    const s = this.encoder.seqStarts;
    const n = this.numLabels;
    return new Tensor(this.packedLogits.subarray(s[i] * n, s[i + 1] * n), [s[i + 1] - s[i], n]);
  }
}

export class BertForTokenClassification {
  private constructor(
    readonly model: BertModel,
    /** Label names by class index (id2label; Hugging Face's LABEL_i when the config has none). */
    readonly labels: readonly string[],
    private readonly classifier: LinearParams,
  ) {}

  static async fromPretrained(dir: string, options: LoadOptions = {}): Promise<BertForTokenClassification> {
    return BertForTokenClassification.fromModel(await BertModel.fromPretrained(dir, options));
  }

  /** Adds the head to a loaded encoder; throws HeadWeightsError when the checkpoint has no classifier. */
  static fromModel(model: BertModel): BertForTokenClassification {
    const labels = labelNames(model.config.id2label);
    const h = model.config.hidden_size;
    const w = readHeadTensors(model, "BertForTokenClassification", {
      weight: { name: TENSORS[0], shape: [labels.length, h] },
      bias: { name: TENSORS[1], shape: [labels.length] },
    });
    return new BertForTokenClassification(model, labels, model.backend.prepareLinear(w.weight, w.bias, labels.length, h));
  }

  get numLabels(): number {
    return this.labels.length;
  }

  /** Missing/unexpected checkpoint tensors for this head class, as Hugging Face's loading_info. */
  get loadReport(): LoadReport {
    return headLoadReport(this.model, TENSORS, false);
  }

  forward(inputs: ModelInput | readonly ModelInput[]): TokenClassifierOutput {
    const enc = this.model.forward(inputs);
    const rows = enc.seqStarts[enc.batchSize];
    const logits = this.model.backend.linear(enc.hidden, rows, this.classifier); // (rows, numLabels)
    return new TokenClassifierOutput(logits, this.numLabels, enc);
  }
}

/** Hugging Face's PretrainedConfig default is two labels, LABEL_0 and LABEL_1, when config.json has no id2label. */
function labelNames(id2label: Record<number, string>): string[] {
  const ids = Object.keys(id2label).map(Number);
  const n = ids.length === 0 ? 2 : Math.max(...ids) + 1;
  return Array.from({ length: n }, (_, i) => id2label[i] ?? `LABEL_${i}`);
}
