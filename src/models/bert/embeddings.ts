/**
 * BertEmbeddings: word + token type + position embeddings, then LayerNorm (modeling_bert.py
 * BertEmbeddings). The other families differ only in data (EmbeddingSpec): no token types
 * (DistilBERT, MPNet), positions counted from the padding id (RoBERTa, XLM-R, MPNet), a fixed
 * position table (DistilBERT's sinusoidal_pos_embds), and tables narrower than the hidden size that a
 * linear layer projects after the LayerNorm (ELECTRA embeddings_project, ALBERT
 * embedding_hidden_mapping_in).
 */
import type { Backend, EmbeddingTables, LinearParams, WeightValues } from "../../backend/backend.js";
import type { BertConfig } from "../../config/bert-config.js";
import { CheckpointError, type Checkpoint } from "../checkpoint.js";
import type { PackedBatch } from "../packed.js";
import type { RowTable } from "../row-table.js";

/** How position ids are derived: BERT counts from 0; RoBERTa from pad_token_id + 1, skipping padding. */
export type PositionRule = "absolute" | "roberta";

/** What a family's embeddings have beyond word and position tables. */
export interface EmbeddingSpec {
  /** A token_type_embeddings table (BERT, RoBERTa, ELECTRA, ALBERT; not DistilBERT or MPNet). */
  tokenTypes: boolean;
  /** Checkpoint name (under the base prefix) of the embedding_size → hidden_size linear layer run after the LayerNorm. */
  projection?: string;
  /** A position table computed from the config, used when the checkpoint stores none (DistilBERT's sinusoidal_pos_embds). */
  fixedPositions?: (config: BertConfig) => Float32Array | undefined;
}

export class BertEmbeddings {
  private constructor(
    private readonly config: BertConfig,
    /**
     * [vocab, embedding_size] in the checkpoint's precision (half the memory for f16 files): mapped
     * from the file where the backend can, else read by row until many rows are wanted, then whole;
     * rows are converted exactly when gathered.
     */
    private readonly wordEmbeddings: RowTable,
    private readonly positionEmbeddings: Float32Array, // [maxPositions, embedding_size]
    private readonly tokenTypeEmbeddings: Float32Array | undefined, // [typeVocab, embedding_size]
    private readonly gamma: Float32Array,
    private readonly beta: Float32Array,
    private readonly positionRule: PositionRule,
    private readonly projection: LinearParams | undefined, // embedding_size → hidden_size
  ) {}

  /** What Backend.embeddingLayerNorm reads, but the word table (lazy: see forward). */
  private get otherTables(): Omit<EmbeddingTables, "words"> {
    const { positionEmbeddings: positions, tokenTypeEmbeddings: tokenTypes, gamma, beta } = this;
    return { positions, tokenTypes, gamma, beta, eps: this.config.layer_norm_eps, width: this.config.embedding_size };
  }

  static load(ckpt: Checkpoint, config: BertConfig, positionRule: PositionRule, spec: EmbeddingSpec, backend: Backend): BertEmbeddings {
    const { embedding_size: e, hidden_size: h, max_position_embeddings: maxPos } = config;
    const positionName = "embeddings.position_embeddings.weight";
    // A stored table wins over a computed one, as from_pretrained overwrites the initial values.
    const fixed = ckpt.hasBase(positionName) ? undefined : spec.fixedPositions?.(config);
    let projection: LinearParams | undefined;
    if (spec.projection) {
      projection = backend.prepareLinear(ckpt.stackedBaseWeights([`${spec.projection}.weight`], [h], e), ckpt.base(`${spec.projection}.bias`, [h]), h, e);
    } else if (e !== h) {
      throw new CheckpointError(`embedding_size ${e} differs from hidden_size ${h}, but model_type "${config.model_type}" has no embedding projection`);
    }
    return new BertEmbeddings(
      config,
      ckpt.baseTable("embeddings.word_embeddings.weight", config.vocab_size, e, backend.mapFile?.bind(backend)),
      fixed ?? ckpt.base(positionName, [maxPos, e]),
      spec.tokenTypes ? ckpt.base("embeddings.token_type_embeddings.weight", [config.type_vocab_size, e]) : undefined,
      ckpt.base("embeddings.LayerNorm.weight", [e]),
      ckpt.base("embeddings.LayerNorm.bias", [e]),
      positionRule,
      projection,
    );
  }

  /** The word embedding matrix, shared with the masked-LM decoder (tied weights); read whole on first use. */
  get wordEmbeddingMatrix(): WeightValues {
    return this.wordEmbeddings.values();
  }

  /** The word embedding table as the embeddings read it (tests count its reads). */
  get wordEmbeddingTable(): RowTable {
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

  /** (rows, hidden) embedding output after LayerNorm (and the projection to hidden_size, if any), into `out` when given. */
  forward(batch: PackedBatch, backend: Backend, out?: Float32Array): Float32Array {
    const table = this.wordEmbeddings;
    let words: WeightValues | undefined = table.resident(), ids: Int32Array;
    if (words) {
      // In memory, or a view on the mapped file: the backend gathers this batch's rows from it.
      ids = batch.inputIds;
    } else {
      // The table is still in the file (RowTable): this batch's rows are gathered through it (read
      // singly until it decides to read the whole table) into a compact table the backend indexes.
      const { vocab_size: vocab, embedding_size: e } = this.config;
      const rows = batch.inputIds.length;
      const compact = new Float32Array(rows * e);
      for (let r = 0; r < rows; r++) {
        const id = batch.inputIds[r];
        if (!(id >= 0 && id < vocab)) throw new RangeError(`Token id ${id} is outside the vocabulary (size ${vocab})`);
        table.gather(id, compact, r * e);
      }
      words = compact;
      ids = Int32Array.from({ length: rows }, (_, r) => r);
    }
    // Families without token types (DistilBERT, MPNet) take no type input at all: a caller's type ids are ignored.
    const tables: EmbeddingTables = { ...this.otherTables, words };
    const positions = this.positionIds(batch);
    if (!this.projection) return backend.embeddingLayerNorm(tables, ids, batch.tokenTypeIds, positions, out);
    const normed = backend.embeddingLayerNorm(tables, ids, batch.tokenTypeIds, positions);
    return backend.linear(normed, ids.length, this.projection, "none", out);
  }
}
