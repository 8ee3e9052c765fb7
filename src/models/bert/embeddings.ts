/** BertEmbeddings: word + token type + position embeddings, then LayerNorm (modeling_bert.py BertEmbeddings). */
import type { Backend, WeightValues } from "../../backend/backend.js";
import { halfBitsToFloat32 } from "../../io/dtype.js";
import type { BertConfig } from "../../config/bert-config.js";
import type { Checkpoint } from "../checkpoint.js";
import type { PackedBatch } from "../packed.js";

/** How position ids are derived: BERT counts from 0; RoBERTa from pad_token_id + 1, skipping padding. */
export type PositionRule = "absolute" | "roberta";

const CHUNK_ROWS = 512;

export class BertEmbeddings {
  private constructor(
    private readonly config: BertConfig,
    /** [vocab, hidden], kept in the checkpoint's precision (half the memory for f16 files); rows are converted exactly when gathered. */
    private readonly wordEmbeddings: WeightValues,
    private readonly positionEmbeddings: Float32Array, // [maxPositions, hidden]
    private readonly tokenTypeEmbeddings: Float32Array, // [typeVocab, hidden]
    private readonly gamma: Float32Array,
    private readonly beta: Float32Array,
    private readonly positionRule: PositionRule,
  ) {}

  static load(ckpt: Checkpoint, config: BertConfig, positionRule: PositionRule): BertEmbeddings {
    const h = config.hidden_size;
    return new BertEmbeddings(
      config,
      ckpt.baseValues("embeddings.word_embeddings.weight", [config.vocab_size, h]),
      ckpt.base("embeddings.position_embeddings.weight", [config.max_position_embeddings, h]),
      ckpt.base("embeddings.token_type_embeddings.weight", [config.type_vocab_size, h]),
      ckpt.base("embeddings.LayerNorm.weight", [h]),
      ckpt.base("embeddings.LayerNorm.bias", [h]),
      positionRule,
    );
  }

  /** The word embedding matrix, shared with the masked-LM decoder (tied weights). */
  get wordEmbeddingMatrix(): WeightValues {
    return this.wordEmbeddings;
  }

  /** Position ids for every packed row. */
  positionIds(batch: PackedBatch): Int32Array {
    if (this.positionRule === "absolute") return batch.positions;
    // RoBERTa (create_position_ids_from_input_ids): padding_idx + cumulative count of non-pad tokens;
    // a pad id inside the text keeps position padding_idx.
    const pad = this.config.pad_token_id;
    const ids = new Int32Array(batch.inputIds.length);
    for (let s = 0; s + 1 < batch.seqStarts.length; s++) {
      let count = 0;
      for (let r = batch.seqStarts[s]; r < batch.seqStarts[s + 1]; r++) {
        if (batch.inputIds[r] !== pad) ids[r] = pad + ++count;
        else ids[r] = pad;
      }
    }
    return ids;
  }

  /** (rows, hidden) embedding output after LayerNorm. */
  forward(batch: PackedBatch, backend: Backend): Float32Array {
    const { vocab_size: vocab, type_vocab_size: types, max_position_embeddings: maxPos, hidden_size: h } = this.config;
    const rows = batch.inputIds.length;
    const positions = this.positionIds(batch);
    const out = new Float32Array(rows * h);
    // The sums before LayerNorm are formed a chunk of rows at a time, so only the output is batch-sized.
    const x = new Float32Array(Math.min(rows, CHUNK_ROWS) * h);
    const words = this.wordEmbeddings;
    // Half-precision tables: each gathered row is converted into `row` first (exact).
    const row = words instanceof Float32Array ? undefined : new Float32Array(h);
    for (let r = 0; r < rows; r++) {
      const chunkRow = r % CHUNK_ROWS;
      const id = batch.inputIds[r];
      const type = batch.tokenTypeIds[r];
      const pos = positions[r];
      if (id < 0 || id >= vocab) throw new RangeError(`Token id ${id} is outside the vocabulary (size ${vocab})`);
      if (type < 0 || type >= types) throw new RangeError(`Token type id ${type} is outside 0..${types - 1}`);
      if (pos < 0 || pos >= maxPos) {
        throw new RangeError(`Sequence too long: position ${pos} exceeds max_position_embeddings ${maxPos}; truncate the input`);
      }
      const o = chunkRow * h;
      const to = type * h, po = pos * h;
      let word: Float32Array, wo: number;
      if (words instanceof Float32Array) {
        word = words;
        wo = id * h;
      } else {
        halfBitsToFloat32(words.format, words.bits, id * h, row!);
        word = row!;
        wo = 0;
      }
      // Same float32 order as PyTorch: (word + type) + position.
      for (let c = 0; c < h; c++) {
        x[o + c] = word[wo + c] + this.tokenTypeEmbeddings[to + c];
        x[o + c] += this.positionEmbeddings[po + c];
      }
      if (chunkRow === CHUNK_ROWS - 1 || r === rows - 1) {
        const first = r - chunkRow, n = chunkRow + 1;
        backend.addLayerNorm(x.subarray(0, n * h), null, n, h, this.gamma, this.beta, this.config.layer_norm_eps, out.subarray(first * h, (first + n) * h));
      }
    }
    return out;
  }
}
