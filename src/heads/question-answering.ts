/**
 * Extractive question answering: `qa_outputs` maps every token to two logits, for the start and the
 * end of the answer span. Mirrors modeling_bert.py BertForQuestionAnswering (built without a pooler).
 */
import type { LinearParams } from "../backend/backend.js";
import type { LoadReport } from "../models/checkpoint.js";
import { BertModel, type LoadOptions } from "../models/bert/model.js";
import type { EncoderOutput } from "../models/output.js";
import type { ModelInput } from "../tokenizers/encoding.js";
import { headLoadReport, readHeadTensors } from "./head-loading.js";

const TENSORS = ["qa_outputs.weight", "qa_outputs.bias"] as const;

export class QuestionAnsweringOutput {
  constructor(
    /** (totalTokens, 2): start and end logit of each real token, packed. */
    readonly packedLogits: Float32Array,
    readonly encoder: EncoderOutput,
  ) {}

  get batchSize(): number {
    return this.encoder.batchSize;
  }

  /** [len] start logits of sequence i (Hugging Face's `start_logits[i]` without padding). */
  startLogits(i: number): Float32Array {
    return this.column(i, 0);
  }

  /** [len] end logits of sequence i. */
  endLogits(i: number): Float32Array {
    return this.column(i, 1);
  }

  private column(i: number, c: number): Float32Array {
    const s = this.encoder.seqStarts;
    const out = new Float32Array(s[i + 1] - s[i]);
    for (let t = 0; t < out.length; t++) out[t] = this.packedLogits[(s[i] + t) * 2 + c];
    return out;
  }
}

export class BertForQuestionAnswering {
  private constructor(
    readonly model: BertModel,
    private readonly qaOutputs: LinearParams,
  ) {}

  static async fromPretrained(dir: string, options: LoadOptions = {}): Promise<BertForQuestionAnswering> {
    return BertForQuestionAnswering.fromModel(await BertModel.fromPretrained(dir, options));
  }

  /** Adds the head to a loaded encoder; throws HeadWeightsError when the checkpoint has no qa_outputs. */
  static fromModel(model: BertModel): BertForQuestionAnswering {
    const h = model.config.hidden_size;
    const w = readHeadTensors(model, "BertForQuestionAnswering", {
      weight: { name: TENSORS[0], shape: [2, h] },
      bias: { name: TENSORS[1], shape: [2] },
    });
    return new BertForQuestionAnswering(model, model.backend.prepareLinear(w.weight, w.bias, 2, h));
  }

  /** Missing/unexpected checkpoint tensors for this head class, as Hugging Face's loading_info. */
  get loadReport(): LoadReport {
    return headLoadReport(this.model, TENSORS, false);
  }

  forward(inputs: ModelInput | readonly ModelInput[]): QuestionAnsweringOutput {
    const enc = this.model.forward(inputs);
    const rows = enc.seqStarts[enc.batchSize];
    return new QuestionAnsweringOutput(this.model.backend.linear(enc.hidden, rows, this.qaOutputs), enc); // (rows, 2)
  }
}
