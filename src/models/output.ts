/**
 * The encoder's result in packed form — only real tokens — with padded views built on request.
 * Field names follow Hugging Face's BaseModelOutputWithPooling in camelCase.
 */
import { Tensor } from "../tensor/tensor.js";

export class EncoderOutput {
  constructor(
    /** (totalTokens, hidden): the last layer, packed. */
    readonly hidden: Float32Array,
    /** [numSeqs + 1] row offsets into the packed rows. */
    readonly seqStarts: Int32Array,
    readonly hiddenSize: number,
    /** Caller's input lengths (with padding), for padded views. */
    private readonly inputLengths: number[],
    /** Caller's position of each packed row, for padded views. */
    private readonly positions: Int32Array,
    private readonly pooled: Float32Array | undefined,
    private readonly poolerMissingReason: string,
    /** Packed hidden states: index 0 = embedding output, i = after layer i (when requested). */
    readonly packedHiddenStates?: Float32Array[],
    /** Per layer, per sequence: (heads, len, len) attention probabilities (when requested). */
    readonly attentions?: Float32Array[][],
    /** The last layer's first-token attention rows (when requested): sequence s's (heads, len) at heads · seqStarts[s]. */
    private readonly packedFirstTokenAttention?: Float32Array,
  ) {}

  get batchSize(): number {
    return this.seqStarts.length - 1;
  }

  /** Number of real tokens of sequence i. */
  length(i: number): number {
    return this.seqStarts[i + 1] - this.seqStarts[i];
  }

  /** (len, hidden) token vectors of sequence i, real tokens only, sharing memory. */
  sequence(i: number, layer?: number): Tensor {
    const src = layer === undefined ? this.hidden : this.hiddenStateLayer(layer);
    const h = this.hiddenSize;
    return new Tensor(src.subarray(this.seqStarts[i] * h, this.seqStarts[i + 1] * h), [this.length(i), h]);
  }

  /**
   * (heads, len) for sequence i: the last layer's softmax attention from the first token to every
   * token, per head (forward with { outputFirstTokenAttention: true }).
   */
  firstTokenAttention(i: number): Tensor {
    if (!this.packedFirstTokenAttention) throw new Error("the first token's attention was not requested: pass { outputFirstTokenAttention: true }");
    const rows = this.seqStarts[this.batchSize];
    const heads = this.packedFirstTokenAttention.length / rows;
    return new Tensor(this.packedFirstTokenAttention.subarray(heads * this.seqStarts[i], heads * this.seqStarts[i + 1]), [heads, this.length(i)]);
  }

  /** [batch, seq, hidden], padded like the inputs were (zeros at padding positions). */
  get lastHiddenState(): Tensor {
    return this.padded(this.hidden);
  }

  /** [batch, hidden]: tanh(W·h[CLS] + b). Throws when the checkpoint has no pooler weights. */
  get poolerOutput(): Tensor {
    if (!this.pooled) throw new Error(`pooler_output is unavailable: ${this.poolerMissingReason}`);
    return new Tensor(this.pooled, [this.batchSize, this.hiddenSize]);
  }

  get hasPoolerOutput(): boolean {
    return this.pooled !== undefined;
  }

  /** All layers as padded tensors: index 0 = embeddings, i = after layer i. */
  get hiddenStates(): Tensor[] {
    if (!this.packedHiddenStates) throw new Error("hidden states were not requested: pass { outputHiddenStates: true }");
    return this.packedHiddenStates.map((x) => this.padded(x));
  }

  hiddenStateLayer(layer: number): Float32Array {
    if (!this.packedHiddenStates) throw new Error("hidden states were not requested: pass { outputHiddenStates: true }");
    const n = this.packedHiddenStates.length;
    const idx = layer < 0 ? n + layer : layer;
    if (idx < 0 || idx >= n) throw new RangeError(`Layer ${layer} is out of range (0..${n - 1}; negative counts from the end)`);
    return this.packedHiddenStates[idx];
  }

  private padded(packed: Float32Array): Tensor {
    const h = this.hiddenSize;
    const maxLen = Math.max(...this.inputLengths);
    const out = new Float32Array(this.batchSize * maxLen * h);
    for (let s = 0; s < this.batchSize; s++) {
      for (let r = this.seqStarts[s]; r < this.seqStarts[s + 1]; r++) {
        out.set(packed.subarray(r * h, (r + 1) * h), (s * maxLen + this.positions[r]) * h);
      }
    }
    return new Tensor(out, [this.batchSize, maxLen, h]);
  }
}
