/**
 * Next-sentence prediction (modeling_bert.py BertForNextSentencePrediction / BertOnlyNSPHead):
 * logits = cls.seq_relationship(pooler_output), [2] per pair. Index 0 means "sentence B follows
 * sentence A", index 1 "B is a random sentence".
 */
import type { LinearParams } from "../backend/backend.js";
import type { LoadReport } from "../models/checkpoint.js";
import { BertModel, type LoadOptions } from "../models/bert/model.js";
import { Tensor } from "../tensor/tensor.js";
import type { ModelInput } from "../tokenizers/encoding.js";
import { headLoadReport, readHeadTensors, requirePooler } from "./head-loading.js";
import { softmax } from "./scores.js";

const HEAD_CLASS = "BertForNextSentencePrediction";
const TENSORS = ["cls.seq_relationship.weight", "cls.seq_relationship.bias"] as const;

export interface NextSentenceOutput {
  /** [batch, 2] raw scores, as Hugging Face's `logits` (0 = is next, 1 = is random). */
  logits: Tensor;
}

export interface NextSentenceResult {
  /** True when the model judges B to continue A (logit 0 ≥ logit 1, as argmax picks). */
  isNext: boolean;
  /** softmax(logits)[0]: the probability that B continues A. */
  probability: number;
  /** [isNext, isRandom] raw scores. */
  logits: [number, number];
}

export class BertForNextSentencePrediction {
  private constructor(
    readonly model: BertModel,
    private readonly seqRelationship: LinearParams,
  ) {}

  static async fromPretrained(dir: string, options: LoadOptions = {}): Promise<BertForNextSentencePrediction> {
    return BertForNextSentencePrediction.fromModel(await BertModel.fromPretrained(dir, options));
  }

  /** Adds the head to a loaded encoder; throws HeadWeightsError naming absent tensors. */
  static fromModel(model: BertModel): BertForNextSentencePrediction {
    requirePooler(model, HEAD_CLASS);
    const h = model.config.hidden_size;
    const w = readHeadTensors(model, HEAD_CLASS, {
      weight: { name: TENSORS[0], shape: [2, h] },
      bias: { name: TENSORS[1], shape: [2] },
    });
    return new BertForNextSentencePrediction(model, model.backend.prepareLinear(w.weight, w.bias, 2, h));
  }

  /** Missing/unexpected checkpoint tensors for this head class, as Hugging Face's loading_info. */
  get loadReport(): LoadReport {
    return headLoadReport(this.model, TENSORS, true);
  }

  /** Inputs are encoded pairs: [CLS] A [SEP] B [SEP] with token types 0…0 1…1. */
  forward(inputs: ModelInput | readonly ModelInput[]): NextSentenceOutput {
    const out = this.model.forward(inputs);
    const logits = this.model.backend.linear(out.poolerOutput.data, out.batchSize, this.seqRelationship);
    return { logits: new Tensor(logits, [out.batchSize, 2]) };
  }

  /** One verdict per input pair. */
  predict(inputs: ModelInput | readonly ModelInput[]): NextSentenceResult[] {
    const { logits } = this.forward(inputs);
    return Array.from({ length: logits.shape[0] }, (_, i) => nextSentenceResult(logits.row(i)));
  }
}

export function nextSentenceResult(row: ArrayLike<number>): NextSentenceResult {
  const [pNext] = softmax(row);
  return { isNext: row[0] >= row[1], probability: pNext, logits: [row[0], row[1]] };
}
