/**
 * Masked language modelling (modeling_bert.py BertForMaskedLM / BertLMPredictionHead):
 * logits = decoder(LayerNorm(act(dense(h)))) + bias, the decoder tied to the word embeddings; the
 * other families name these tensors differently and may predict in embedding_size (MaskedLMSpec).
 * A row of logits is vocabulary-wide (30522 × hidden multiply-adds), so only the positions asked for
 * are computed — the [MASK] positions for fill-mask — unless every position is requested. The
 * decoder is prepared in vocabulary blocks, so callers that reduce the logits as they go (SPLADE)
 * never hold more than ROW_BLOCK × VOCAB_BLOCK of them.
 */
import type { Activation, LinearParams, WeightValues } from "../backend/backend.js";
import type { LoadReport } from "../models/checkpoint.js";
import { BertModel, type LoadOptions } from "../models/bert/model.js";
import { Tensor } from "../tensor/tensor.js";
import type { ModelInput } from "../tokenizers/encoding.js";
import { headLoadReport, readHeadTensors, rememberBaseReport, type TensorSpec } from "./head-loading.js";


/** Rows and vocabulary ids per block of logits: 256 × 4096 floats = 4 MiB. */
const ROW_BLOCK = 256;
const VOCAB_BLOCK = 4096;

/** One block of logits: rows [rowStart, rowStart + rows) × vocabulary ids [vocabStart, vocabStart + width). */
export interface LogitBlock {
  /** (rows, width) row-major. */
  data: Float32Array;
  rowStart: number;
  rows: number;
  vocabStart: number;
  width: number;
}

/** The decoder (tied word embeddings + bias) as vocabulary slices, each its own prepared linear layer. */
interface DecoderBlock {
  vocabStart: number;
  params: LinearParams;
}

function sliceRows(w: WeightValues, start: number, end: number, cols: number): WeightValues {
  if (w instanceof Float32Array) return w.subarray(start * cols, end * cols);
  return { format: w.format, bits: w.bits.subarray(start * cols, end * cols) };
}

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
    private readonly decoder: readonly DecoderBlock[],
    private readonly tensorNames: readonly string[],
    private readonly activation: Activation,
  ) {}

  static async fromPretrained(dir: string, options: LoadOptions = {}): Promise<BertForMaskedLM> {
    return BertForMaskedLM.fromModel(await BertModel.fromPretrained(dir, options));
  }

  /** Adds the head to a loaded encoder; throws HeadWeightsError naming absent tensors. */
  static fromModel(model: BertModel): BertForMaskedLM {
    const { hidden_size: h, embedding_size: e, vocab_size: vocab } = model.config;
    const spec = model.family.maskedLM;
    const headClass = `${model.family.className}ForMaskedLM`;
    const ckpt = model.checkpoint;
    rememberBaseReport(model);
    // The output bias is stored on its own (BERT: cls.predictions.bias), and in some files also as
    // the decoder's own bias (the two are one tied parameter in Hugging Face).
    const bias = ckpt.optional(spec.bias, [vocab]);
    const decoderBias = ckpt.optional(`${spec.decoder}.bias`, [vocab]);
    // Tied to the word embeddings; a stored copy is used when present (untied checkpoints).
    const decoderWeight = ckpt.optional(`${spec.decoder}.weight`, [vocab, e]);
    const specs: Record<string, TensorSpec> = {
      denseW: { name: `${spec.dense}.weight`, shape: [e, h] },
      denseB: { name: `${spec.dense}.bias`, shape: [e] },
      gamma: { name: `${spec.norm}.weight`, shape: [e] },
      beta: { name: `${spec.norm}.bias`, shape: [e] },
    };
    if (!bias && !decoderBias) specs.bias = { name: spec.bias, shape: [vocab] };
    const w = readHeadTensors(model, headClass, specs);
    const names = Object.values(specs).map((s) => s.name);
    if (bias) names.push(spec.bias);
    if (decoderBias) names.push(`${spec.decoder}.bias`);
    if (decoderWeight) names.push(`${spec.decoder}.weight`);
    const weight = decoderWeight ?? model.embeddings.wordEmbeddingMatrix;
    const outBias = bias ?? decoderBias ?? null;
    const decoder: DecoderBlock[] = [];
    for (let v = 0; v < vocab; v += VOCAB_BLOCK) {
      const end = Math.min(v + VOCAB_BLOCK, vocab);
      const params = model.backend.prepareLinear(sliceRows(weight, v, end, e), outBias?.subarray(v, end) ?? null, end - v, e);
      decoder.push({ vocabStart: v, params });
    }
    return new BertForMaskedLM(
      model,
      model.backend.prepareLinear(w.denseW, w.denseB, e, h),
      w.gamma,
      w.beta,
      decoder,
      [...new Set(names)],
      spec.activation === "hidden_act" ? model.config.hidden_act : spec.activation,
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
    const vocab = this.vocabSize;
    const logits = new Float32Array(rows * vocab);
    this.forEachLogitBlock(x, rows, "none", (b) => {
      for (let r = 0; r < b.rows; r++) logits.set(b.data.subarray(r * b.width, (r + 1) * b.width), (b.rowStart + r) * vocab + b.vocabStart);
    });
    return logits;
  }

  /**
   * The logits of x (rows, hidden final hidden states), activation applied, handed to `visit` one
   * block at a time (see LogitBlock); a block's data is reused for the next one.
   */
  forEachLogitBlock(x: Float32Array, rows: number, activation: Activation, visit: (block: LogitBlock) => void): void {
    const backend = this.model.backend;
    const { hidden_size: h, embedding_size: e } = this.model.config;
    const scratch = new Float32Array(Math.min(rows, ROW_BLOCK) * VOCAB_BLOCK);
    for (let r0 = 0; r0 < rows; r0 += ROW_BLOCK) {
      const n = Math.min(ROW_BLOCK, rows - r0);
      const t = backend.linear(x.subarray(r0 * h, (r0 + n) * h), n, this.transform, this.activation); // (n, embedding_size)
      const normed = backend.addLayerNorm(t, null, n, e, this.gamma, this.beta, this.model.config.layer_norm_eps);
      for (const block of this.decoder) {
        const width = block.params.outFeatures;
        const data = backend.linear(normed, n, block.params, activation, scratch.subarray(0, n * width));
        visit({ data, rowStart: r0, rows: n, vocabStart: block.vocabStart, width });
      }
    }
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
