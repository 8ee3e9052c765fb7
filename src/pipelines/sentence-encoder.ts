/**
 * SentenceEncoder: text → vectors with the model's own pooling, the thing most users come for.
 *
 *   const encoder = await SentenceEncoder.load("sentence-transformers/all-MiniLM-L6-v2");
 *   const vectors = await encoder.embed(["Hello, world!", "Bonjour"]);
 *
 * Batches are formed by token budget over length-sorted inputs and run packed, so results never
 * depend on batch size or neighbours (bit-identical), and come back in input order.
 * Long inputs are truncated (and reported) by default, or embedded as overlapping windows ("chunk").
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Backend } from "../backend/backend.js";
import { resolveModel, type ResolveOptions } from "../io/hub.js";
import { BertModel } from "../models/bert/model.js";
import { readDefaultPooling, type DefaultPooling } from "../pooling/defaults.js";
import { LAST_LAYER, type LayerSelection } from "../pooling/layers.js";
import { needsHiddenStates, pool } from "../pooling/pool.js";
import { cosineSimilarity, l2NormalizeInPlace, similarity, type SimilarityFunction } from "../pooling/similarity.js";
import type { PoolingStrategy } from "../pooling/strategies.js";
import { Tensor } from "../tensor/tensor.js";
import type { Encoding } from "../tokenizers/encoding.js";
import { loadTokenizer, type Tokenizer } from "../tokenizers/index.js";

export interface SentenceEncoderOptions {
  /** Default: the model's own (sentence-transformers config, else pooler / cls). */
  pooling?: PoolingStrategy;
  /** Default: true when the model's sentence-transformers config has a Normalize module. */
  normalize?: boolean;
  /** Token limit per text (special tokens included). Default: sentence-transformers max_seq_length, else the tokenizer's. */
  maxLength?: number;
  layers?: LayerSelection;
  backend?: Backend;
  /** How a model id is found or downloaded. */
  resolve?: ResolveOptions;
}

export type LongInputMode = "truncate" | "chunk" | "error";

export interface EmbedOptions {
  /** Most texts per forward pass (default 32). */
  batchSize?: number;
  /** Most real tokens per forward pass (default 16384): keeps memory flat for long texts. */
  maxBatchTokens?: number;
  /** What to do with texts over maxLength: truncate (default, reported via onTruncate), chunk (windows averaged), error. */
  longInputs?: LongInputMode;
  /** Overlap in tokens between chunk windows (chunk mode; default maxLength / 4). */
  chunkStride?: number;
  onProgress?: (done: number, total: number) => void;
  /** Called for each text that was truncated, with its full token count. */
  onTruncate?: (index: number, numTokens: number, maxLength: number) => void;
}

/** One window of a text: its vector, the characters it covers ([start, end), UTF-16) and its tokens (specials included). */
export interface EmbeddedWindow {
  vector: Float32Array;
  start: number;
  end: number;
  tokenCount: number;
}

export interface DocumentEmbedding {
  /** What embed() returns for the text. */
  vector: Float32Array;
  windows: EmbeddedWindow[];
  /** Tokens over all windows. */
  tokenCount: number;
  /** The text was cut to maxLength (truncate mode). */
  truncated: boolean;
}

/** The characters an encoding's real tokens cover. */
function characterSpan(encoding: Encoding): { start: number; end: number } {
  let start = Infinity;
  let end = 0;
  encoding.offsets.forEach(([a, b], t) => {
    if (encoding.specialTokensMask[t] === 1 || b <= a) return;
    if (a < start) start = a;
    if (b > end) end = b;
  });
  return start === Infinity ? { start: 0, end: 0 } : { start, end };
}

export type Quantization = "int8" | "uint8" | "binary" | "ubinary";

export interface EmbeddingInfo {
  strategy: PoolingStrategy;
  normalize: boolean;
  source: string;
  maxLength: number;
  dimension: number;
}

export class SentenceEncoder {
  private constructor(
    readonly model: BertModel,
    readonly tokenizer: Tokenizer,
    readonly modelDir: string,
    readonly pooling: PoolingStrategy,
    readonly normalize: boolean,
    readonly maxLength: number,
    readonly layers: LayerSelection,
    /** Where the default pooling came from. */
    readonly poolingSource: string,
    /** True for checkpoints with seeded random weights (test models): their vectors mean nothing. */
    readonly randomWeights: boolean,
  ) {}

  static async load(nameOrPath: string, options: SentenceEncoderOptions = {}): Promise<SentenceEncoder> {
    const { dir } = await resolveModel(nameOrPath, options.resolve);
    const [model, tokenizer] = await Promise.all([BertModel.fromPretrained(dir, { backend: options.backend }), loadTokenizer(dir)]);
    const defaults: DefaultPooling = await readDefaultPooling(dir, model.hasPooler, model.family.defaultPooling);
    const pooling = options.pooling ?? defaults.strategy;
    if (pooling === "pooler" && !model.hasPooler) {
      throw new Error(`${dir} has no pooler weights, so pooling "pooler" is unavailable; use "cls" for the raw [CLS] vector`);
    }
    const limit = Math.min(model.config.max_position_embeddings - (model.family.positionRule === "roberta" ? model.config.pad_token_id + 1 : 0), tokenizer.modelMaxLength);
    const maxLength = options.maxLength ?? Math.min(defaults.maxSeqLength ?? limit, limit);
    if (!Number.isInteger(maxLength) || maxLength < 2 || maxLength > limit) {
      throw new Error(`Expected maxLength between 2 and ${limit} for ${dir} but received ${options.maxLength}`);
    }
    return new SentenceEncoder(
      model,
      tokenizer,
      dir,
      pooling,
      options.normalize ?? (options.pooling === undefined ? defaults.normalize : false),
      maxLength,
      options.layers ?? LAST_LAYER,
      options.pooling === undefined ? defaults.source : "chosen by the caller",
      existsSync(join(dir, "GENERATED.json")),
    );
  }

  get dimension(): number {
    const h = this.model.config.hidden_size;
    return this.pooling === "cls_mean" ? 2 * h : h;
  }

  get info(): EmbeddingInfo {
    return { strategy: this.pooling, normalize: this.normalize, source: this.poolingSource, maxLength: this.maxLength, dimension: this.dimension };
  }

  /** One vector per text, in input order. */
  async embed(texts: string, options?: EmbedOptions): Promise<Float32Array>;
  async embed(texts: readonly string[], options?: EmbedOptions): Promise<Float32Array[]>;
  async embed(texts: string | readonly string[], options: EmbedOptions = {}): Promise<Float32Array | Float32Array[]> {
    if (typeof texts === "string") return (await this.embed([texts], options))[0];
    return (await this.embedDocuments(texts, options)).map((d) => d.vector);
  }

  /**
   * embed() with the details a vector store keeps: each text's vector (the same bits embed() gives),
   * and every window it was made from with its character span and token count (one window unless
   * chunked). Window vectors are normalised like the text's when the model normalises.
   */
  async embedDocuments(texts: readonly string[], options: EmbedOptions = {}): Promise<DocumentEmbedding[]> {
    if (this.pooling === "none") throw new Error('embed() returns one vector per text; use tokenEmbeddings() for pooling "none"');
    const mode = options.longInputs ?? "truncate";
    // Each text becomes one or more windows; a window is one row of the forward pass.
    const windows: { text: number; encoding: Encoding }[] = [];
    const truncated = new Array<boolean>(texts.length).fill(false);
    texts.forEach((text, i) => {
      if (typeof text !== "string") throw new TypeError(`Expected a string for text ${i} but received ${typeof text}`);
      const onTruncate: EmbedOptions["onTruncate"] = (index, numTokens, maxLength) => {
        truncated[i] = true;
        options.onTruncate?.(index, numTokens, maxLength);
      };
      for (const encoding of this.encodeText(text, i, mode, { ...options, onTruncate })) windows.push({ text: i, encoding });
    });
    const pooled = await this.runWindows(windows.map((w) => w.encoding), options, texts.length);
    // Average the windows of each text (chunk mode), then normalise.
    const result: DocumentEmbedding[] = new Array(texts.length);
    windows.forEach((w, k) => {
      const v = pooled[k];
      const window: EmbeddedWindow = { vector: v, ...characterSpan(w.encoding), tokenCount: w.encoding.inputIds.length };
      const doc = result[w.text];
      if (!doc) result[w.text] = { vector: v.slice(), windows: [window], tokenCount: window.tokenCount, truncated: truncated[w.text] };
      else {
        for (let c = 0; c < v.length; c++) doc.vector[c] += v[c];
        doc.windows.push(window);
        doc.tokenCount += window.tokenCount;
      }
    });
    for (const doc of result) {
      const count = doc.windows.length;
      if (count > 1) for (let c = 0; c < doc.vector.length; c++) doc.vector[c] /= count;
      if (this.normalize) {
        l2NormalizeInPlace(doc.vector);
        for (const w of doc.windows) l2NormalizeInPlace(w.vector);
      }
    }
    return result;
  }

  /** All vectors as one row-major matrix [texts, dimension] (e.g. for a vector index or .npy). */
  async embedMatrix(texts: readonly string[], options: EmbedOptions = {}): Promise<Tensor> {
    const vectors = await this.embed(texts, options);
    const matrix = new Float32Array(vectors.length * this.dimension);
    vectors.forEach((v, i) => matrix.set(v, i * this.dimension));
    return new Tensor(matrix, [vectors.length, this.dimension]);
  }

  /** Token vectors ([len][hidden], special tokens included) for each text: pooling "none". */
  async tokenEmbeddings(texts: readonly string[], options: EmbedOptions = {}): Promise<{ tokens: string[]; vectors: Float32Array[] }[]> {
    const encodings = texts.map((t, i) => this.encodeText(t, i, options.longInputs === "error" ? "error" : "truncate", options)[0]);
    const out: { tokens: string[]; vectors: Float32Array[] }[] = [];
    for (const batch of this.batches(encodings, options)) {
      const res = this.model.forward(batch.map((i) => encodings[i]), { outputHiddenStates: needsHiddenStates({ strategy: "none", layers: this.layers }) });
      const vectors = pool(res, { strategy: "none", layers: this.layers, normalize: this.normalize }, this.model.config.num_hidden_layers);
      batch.forEach((i, k) => {
        const width = vectors[k].length / encodings[i].inputIds.length;
        out[i] = {
          tokens: encodings[i].tokens,
          vectors: Array.from({ length: encodings[i].inputIds.length }, (_, t) => vectors[k].slice(t * width, (t + 1) * width)),
        };
      });
    }
    return out;
  }

  /** Cosine similarity of two texts (or vectors). */
  async similarity(a: string | Float32Array, b: string | Float32Array, fn: SimilarityFunction = "cosine"): Promise<number> {
    const [va, vb] = await Promise.all([typeof a === "string" ? this.embed(a) : a, typeof b === "string" ? this.embed(b) : b]);
    return similarity(va, vb, fn);
  }

  /** n×n cosine matrix of the texts. */
  async similarityMatrix(texts: readonly string[], options?: EmbedOptions): Promise<number[][]> {
    const v = await this.embed(texts, options);
    return v.map((a) => v.map((b) => cosineSimilarity(a, b)));
  }

  private encodeText(text: string, index: number, mode: LongInputMode, options: EmbedOptions): Encoding[] {
    const full = this.tokenizer.encode(text, undefined, { truncation: false });
    const n = full.inputIds.length;
    if (n <= this.maxLength) return [full];
    if (mode === "error") throw new Error(`Text ${index} has ${n} tokens, more than maxLength ${this.maxLength}`);
    if (mode === "truncate") {
      options.onTruncate?.(index, n, this.maxLength);
      return [this.tokenizer.encode(text, undefined, { truncation: true, maxLength: this.maxLength })];
    }
    const stride = options.chunkStride ?? Math.floor(this.maxLength / 4);
    const first = this.tokenizer.encode(text, undefined, { truncation: true, maxLength: this.maxLength, stride, returnOverflowingTokens: true });
    return [first, ...first.overflowing];
  }

  /** Groups encoding indices into batches: sorted by length, bounded by count and by tokens. */
  private *batches(encodings: readonly Encoding[], options: EmbedOptions): Generator<number[]> {
    const batchSize = options.batchSize ?? 32;
    const maxTokens = options.maxBatchTokens ?? 16384;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new Error(`Expected a positive integer batchSize but received ${batchSize}`);
    const order = encodings.map((_, i) => i).sort((a, b) => encodings[b].inputIds.length - encodings[a].inputIds.length);
    let batch: number[] = [];
    let tokens = 0;
    for (const i of order) {
      const len = encodings[i].inputIds.length;
      if (batch.length > 0 && (batch.length >= batchSize || tokens + len > maxTokens)) {
        yield batch;
        batch = [];
        tokens = 0;
      }
      batch.push(i);
      tokens += len;
    }
    if (batch.length > 0) yield batch;
  }

  private async runWindows(encodings: readonly Encoding[], options: EmbedOptions, totalTexts: number): Promise<Float32Array[]> {
    const out: Float32Array[] = new Array(encodings.length);
    const wantHidden = needsHiddenStates({ strategy: this.pooling, layers: this.layers });
    let done = 0;
    for (const batch of this.batches(encodings, options)) {
      const res = this.model.forward(batch.map((i) => encodings[i]), { outputHiddenStates: wantHidden });
      // Normalisation happens after window averaging, in embed().
      const vectors = pool(res, { strategy: this.pooling, layers: this.layers, normalize: false }, this.model.config.num_hidden_layers);
      batch.forEach((i, k) => (out[i] = vectors[k]));
      done += batch.length;
      options.onProgress?.(Math.min(done, totalTexts), totalTexts);
      // Yield to the event loop between batches so callers' timers and I/O keep running.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return out;
  }
}

/** Quantises float vectors for storage, as sentence-transformers' quantize_embeddings. */
export function quantizeEmbeddings(vectors: readonly Float32Array[], precision: Quantization): Int8Array[] | Uint8Array[] {
  if (precision === "binary" || precision === "ubinary") {
    // One bit per dimension (> 0), packed 8 to a byte, most significant bit first (numpy.packbits).
    return vectors.map((v) => {
      const bytes = new Uint8Array(Math.ceil(v.length / 8));
      for (let i = 0; i < v.length; i++) if (v[i] > 0) bytes[i >> 3] |= 0x80 >> (i & 7);
      if (precision === "ubinary") return bytes;
      return Int8Array.from(bytes, (b) => b - 128);
    }) as Int8Array[] | Uint8Array[];
  }
  // Scalar int8/uint8 with per-dimension ranges from these vectors (sentence-transformers' calibration
  // when no separate calibration set is given).
  const dim = vectors[0]?.length ?? 0;
  const lo = new Float64Array(dim).fill(Infinity);
  const hi = new Float64Array(dim).fill(-Infinity);
  for (const v of vectors) for (let i = 0; i < dim; i++) {
    if (v[i] < lo[i]) lo[i] = v[i];
    if (v[i] > hi[i]) hi[i] = v[i];
  }
  return vectors.map((v) => {
    const q = precision === "int8" ? new Int8Array(dim) : new Uint8Array(dim);
    for (let i = 0; i < dim; i++) {
      const step = (hi[i] - lo[i]) / 255 || 1;
      const bucket = Math.floor((v[i] - lo[i]) / step);
      q[i] = Math.min(255, Math.max(0, bucket)) + (precision === "int8" ? -128 : 0);
    }
    return q;
  }) as Int8Array[] | Uint8Array[];
}
