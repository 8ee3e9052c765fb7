/**
 * Masked language modelling (modeling_bert.py BertForMaskedLM / BertLMPredictionHead):
 * logits = decoder(LayerNorm(act(dense(h)))) + bias, the decoder tied to the word embeddings.
 * A row of logits is vocabulary-wide (30522 × hidden multiply-adds), so only the positions asked for
 * are computed — the [MASK] positions for fill-mask — unless every position is requested.
 */
import type { LinearParams } from "../backend/backend.js";
import type { LoadReport } from "../models/checkpoint.js";
import { BertModel, type LoadOptions } from "../models/bert/model.js";
import { Tensor } from "../tensor/tensor.js";
import type { ModelInput } from "../tokenizers/encoding.js";
import { headLoadReport, readHeadTensors, rememberBaseReport, type TensorSpec } from "./head-loading.js";

const HEAD_CLASS = "BertForMaskedLM";

export interface MaskedLMOptions {
  /**
   * Per input, the token indices (into the input as given, padding included) to score; "all" (the
   * default, like Hugging Face's logits) scores every real token.
   */
  positions?: "all" | readonly (readonly number[])[];
}

export interface MaskedLMOutput {
  /** Per input: the token indices scored, in the order of the logits rows. */
  positions: number[][];
  /** Per input: [positions.length, vocab] prediction scores (Hugging Face's `logits` at those positions). */
  logits: Tensor[];
}

export class BertForMaskedLM {
  private constructor(
    readonly model: BertModel,
    private readonly transform: LinearParams,
    private readonly gamma: Float32Array,
    private readonly beta: Float32Array,
    private readonly decoder: LinearParams,
    private readonly tensorNames: readonly string[],
  ) {}

  static async fromPretrained(dir: string, options: LoadOptions = {}): Promise<BertForMaskedLM> {
    return BertForMaskedLM.fromModel(await BertModel.fromPretrained(dir, options));
  }

  /** Adds the head to a loaded encoder; throws HeadWeightsError naming absent tensors. */
  static fromModel(model: BertModel): BertForMaskedLM {
    const { hidden_size: h, vocab_size: vocab } = model.config;
    const ckpt = model.checkpoint;
    rememberBaseReport(model);
    // The output bias is stored as cls.predictions.bias, and in some files also as the decoder's
    // own bias (the two are one tied parameter in Hugging Face).
    const bias = ckpt.optional("cls.predictions.bias", [vocab]);
    const decoderBias = ckpt.optional("cls.predictions.decoder.bias", [vocab]);
    // Tied to the word embeddings; a stored copy is used when present (untied checkpoints).
    const decoderWeight = ckpt.optional("cls.predictions.decoder.weight", [vocab, h]);
    const specs: Record<string, TensorSpec> = {
      denseW: { name: "cls.predictions.transform.dense.weight", shape: [h, h] },
      denseB: { name: "cls.predictions.transform.dense.bias", shape: [h] },
      gamma: { name: "cls.predictions.transform.LayerNorm.weight", shape: [h] },
      beta: { name: "cls.predictions.transform.LayerNorm.bias", shape: [h] },
    };
    if (!bias && !decoderBias) specs.bias = { name: "cls.predictions.bias", shape: [vocab] };
    const w = readHeadTensors(model, HEAD_CLASS, specs);
    const names = Object.values(specs).map((s) => s.name);
    if (bias) names.push("cls.predictions.bias");
    if (decoderBias) names.push("cls.predictions.decoder.bias");
    if (decoderWeight) names.push("cls.predictions.decoder.weight");
    return new BertForMaskedLM(
      model,
      model.backend.prepareLinear(w.denseW, w.denseB, h, h),
      w.gamma,
      w.beta,
      model.backend.prepareLinear(decoderWeight ?? model.embeddings.wordEmbeddingMatrix, bias ?? decoderBias ?? null, vocab, h),
      names,
    );
  }

  get vocabSize(): number {
    return this.model.config.vocab_size;
  }

  /** Missing/unexpected checkpoint tensors for this head class (which has no pooler), as Hugging Face's loading_info. */
  get loadReport(): LoadReport {
    return headLoadReport(this.model, this.tensorNames, false);
  }

  /** Token indices where the input holds the given id (the tokenizer's [MASK]). */
  static positionsOf(input: ModelInput, tokenId: number): number[] {
    const out: number[] = [];
    for (let t = 0; t < input.inputIds.length; t++) {
      if (input.inputIds[t] === tokenId && (!input.attentionMask || input.attentionMask[t] !== 0)) out.push(t);
    }
    return out;
  }

  forward(inputs: ModelInput | readonly ModelInput[], options: MaskedLMOptions = {}): MaskedLMOutput {
    const list: readonly ModelInput[] = Array.isArray(inputs) ? inputs : [inputs as ModelInput];
    const requested = options.positions ?? "all";
    if (requested !== "all" && requested.length !== list.length) {
      throw new Error(`Expected one positions list per input (${list.length}) but received ${requested.length}`);
    }
    const out = this.model.forward(list);
    const h = this.model.config.hidden_size;
    const positions = list.map((input, s) => (requested === "all" ? realPositions(input) : [...requested[s]]));
    // Gather the packed rows of the requested positions: (rows, h).
    const rows = positions.reduce((n, p) => n + p.length, 0);
    const x = new Float32Array(rows * h);
    let r = 0;
    list.forEach((input, s) => {
      const packedIndex = packedRowIndex(input);
      for (const pos of positions[s]) {
        const k = packedIndex[pos];
        if (k === undefined || k < 0) {
          throw new RangeError(`Input ${s}: position ${pos} is ${pos >= input.inputIds.length ? "out of range" : "padding"}`);
        }
        x.set(out.hidden.subarray((out.seqStarts[s] + k) * h, (out.seqStarts[s] + k + 1) * h), r++ * h);
      }
    });
    const logits = this.scoreRows(x, rows);
    const vocab = this.vocabSize;
    let at = 0;
    const perInput = positions.map((p) => {
      const t = new Tensor(logits.subarray(at * vocab, (at + p.length) * vocab), [p.length, vocab]);
      at += p.length;
      return t;
    });
    return { positions, logits: perInput };
  }

  /** (rows, hidden) final hidden states → (rows, vocab) logits. */
  private scoreRows(x: Float32Array, rows: number): Float32Array {
    const backend = this.model.backend;
    const h = this.model.config.hidden_size;
    const t = backend.linear(x, rows, this.transform, this.model.config.hidden_act);
    const normed = backend.addLayerNorm(t, null, rows, h, this.gamma, this.beta, this.model.config.layer_norm_eps);
    return backend.linear(normed, rows, this.decoder);
  }
}

/** Indices of the real (unmasked) tokens. */
function realPositions(input: ModelInput): number[] {
  const out: number[] = [];
  for (let t = 0; t < input.inputIds.length; t++) if (!input.attentionMask || input.attentionMask[t] !== 0) out.push(t);
  return out;
}

/** For each token index of the input, its row among the sequence's packed rows (-1 for padding). */
function packedRowIndex(input: ModelInput): number[] {
  let k = 0;
  return Array.from({ length: input.inputIds.length }, (_, t) => (!input.attentionMask || input.attentionMask[t] !== 0 ? k++ : -1));
}
