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
import { resolveModel, type ResolvedModel, type ResolveOptions } from "../io/hub.js";
import { BertModel } from "../models/bert/model.js";
import { readDefaultPooling, type DefaultPooling } from "../pooling/defaults.js";
import { LAST_LAYER, type LayerSelection } from "../pooling/layers.js";
import { needsHiddenStates, pool } from "../pooling/pool.js";
import { checkDimensions, truncateAndNormalize } from "../pooling/dimensions.js";
import { cosineSimilarity, similarity, type SimilarityFunction } from "../pooling/similarity.js";
import { pooledWidth, type PoolingStrategy } from "../pooling/strategies.js";
import { Tensor } from "../tensor/tensor.js";
import type { Encoding } from "../tokenizers/encoding.js";
import { loadTokenizer, type Tokenizer } from "../tokenizers/index.js";
import { describeLayers, modelProvenance, type ModelProvenance, type Provenance } from "./provenance.js";

export interface SentenceEncoderOptions {
  /** Default: the model's own (sentence-transformers config, else pooler / cls). */
  pooling?: PoolingStrategy;
  /**
   * Default: the model's own setting (true when its sentence-transformers config has a Normalize
   * module), whatever the pooling (but "none": token vectors are not normalised by default).
   */
  normalize?: boolean;
  /** Token limit per text (special tokens included). Default: sentence-transformers max_seq_length, else the tokenizer's. */
  maxLength?: number;
  layers?: LayerSelection;
  backend?: Backend;
  /** How a model id is found or downloaded. */
  resolve?: ResolveOptions;
  /** The model as a caller already resolved it (its id and commit then appear in provenance). */
  resolved?: ResolvedModel;
}

export type LongInputMode = "truncate" | "chunk" | "error";

/** A text, or a sentence pair [a, b] encoded as BertModel(**tokenizer(a, b)) reads it ([CLS] a [SEP] b [SEP]). */
export type EmbedInput = string | readonly [string, string];

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
  /** This call's pooling (default: the encoder's). */
  pooling?: PoolingStrategy;
  /** This call's L2 normalisation (default: the encoder's, whatever the pooling). */
  normalize?: boolean;
  /** Matryoshka: keep the first n components, then normalise (when normalising). Default: all. */
  dimensions?: number;
}

/** One input's vector and how it was made. */
export interface EmbeddedText {
  embedding: Float32Array;
  /** Tokens of the whole input, special tokens included, before any truncation. */
  numTokens: number;
  /** True when truncation cut the input (longInputs "truncate"). */
  truncated: boolean;
  /** Windows averaged into the vector (more than 1 only in chunk mode). */
  windows: number;
}

export type Quantization = "int8" | "uint8" | "binary" | "ubinary";

export interface EmbeddingInfo {
  strategy: PoolingStrategy;
  normalize: boolean;
  source: string;
  /** The model's own pooling (what it uses when none is chosen). */
  modelDefault: DefaultPooling;
  maxLength: number;
  dimension: number;
}

export class SentenceEncoder {
  private modelProvenance: Promise<ModelProvenance> | undefined;

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
    /** The model's own pooling and normalisation, whatever was chosen. */
    readonly modelDefault: DefaultPooling,
    /** True for checkpoints with seeded random weights (test models): their vectors mean nothing. */
    readonly randomWeights: boolean,
    /** Where the model was found (folder, or hub id + revision + commit). */
    readonly resolved: ResolvedModel,
  ) {}

  static async load(nameOrPath: string, options: SentenceEncoderOptions = {}): Promise<SentenceEncoder> {
    const resolved = options.resolved ?? (await resolveModel(nameOrPath, options.resolve));
    const dir = resolved.dir;
    const [model, tokenizer] = await Promise.all([BertModel.fromPretrained(dir, { backend: options.backend }), loadTokenizer(dir)]);
    const defaults: DefaultPooling = await readDefaultPooling(dir, model.hasPooler, model.family.defaultPooling);
    const pooling = options.pooling ?? defaults.strategy;
    checkPoolingAvailable(pooling, model, dir);
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
      // The model's Normalize acts on sentence vectors; token vectors ("none") come out as the encoder gives them.
      options.normalize ?? (pooling === "none" ? false : defaults.normalize),
      maxLength,
      options.layers ?? LAST_LAYER,
      options.pooling === undefined ? defaults.source : `chosen by the caller; the model's own is ${defaults.strategy}`,
      defaults,
      existsSync(join(dir, "GENERATED.json")),
      resolved,
    );
  }

  /** Vector length for a pooling (default: the encoder's), before any `dimensions` truncation. */
  dimensionFor(pooling: PoolingStrategy = this.pooling): number {
    return pooledWidth(pooling, this.model.config.hidden_size);
  }

  get dimension(): number {
    return this.dimensionFor();
  }

  get info(): EmbeddingInfo {
    return {
      strategy: this.pooling,
      normalize: this.normalize,
      source: this.poolingSource,
      modelDefault: this.modelDefault,
      maxLength: this.maxLength,
      dimension: this.dimension,
    };
  }

  /**
   * Where embed(texts, options)'s vectors come from: the model (weights sha256 computed once) and
   * the pooling, normalisation and dimensions in effect. embedDetailed() gives the per-input part.
   */
  async provenance(options: Pick<EmbedOptions, "pooling" | "normalize" | "dimensions"> = {}): Promise<Provenance> {
    this.modelProvenance ??= modelProvenance(this.resolved, this.model);
    return {
      ...(await this.modelProvenance),
      pooling: options.pooling ?? this.pooling,
      layers: describeLayers(this.layers),
      normalize: options.normalize ?? this.normalize,
      ...(options.dimensions !== undefined ? { dimensions: options.dimensions } : {}),
    };
  }

  /**
   * One vector per text, in input order. A list item may be a pair [a, b]: embed([["q", "p"]]).
   * (A bare ["a", "b"] is two texts, not a pair.)
   */
  async embed(texts: string, options?: EmbedOptions): Promise<Float32Array>;
  async embed(texts: readonly EmbedInput[], options?: EmbedOptions): Promise<Float32Array[]>;
  async embed(texts: string | readonly EmbedInput[], options: EmbedOptions = {}): Promise<Float32Array | Float32Array[]> {
    if (typeof texts === "string") return (await this.embedDetailed([texts], options))[0].embedding;
    return (await this.embedDetailed(texts, options)).map((r) => r.embedding);
  }

  /** embed() with, per input, its token count, whether it was truncated and how many windows it took. */
  async embedDetailed(texts: readonly EmbedInput[], options: EmbedOptions = {}): Promise<EmbeddedText[]> {
    const pooling = options.pooling ?? this.pooling;
    if (pooling === "none") throw new Error('embed() returns one vector per text; use tokenEmbeddings() for pooling "none"');
    checkPoolingAvailable(pooling, this.model, this.modelDir);
    checkDimensions(options.dimensions, this.dimensionFor(pooling));
    const normalize = options.normalize ?? this.normalize;
    const mode = options.longInputs ?? "truncate";
    // Each text becomes one or more windows; a window is one row of the forward pass.
    const windows: { text: number; encoding: Encoding }[] = [];
    const details = texts.map((text, i) => {
      const encodings = this.encodeText(text, i, mode, options);
      for (const encoding of encodings) windows.push({ text: i, encoding });
      const numTokens = encodings[0].inputIds.length + (encodings[0].numTruncatedTokens ?? 0);
      return { numTokens, truncated: mode === "truncate" && (encodings[0].numTruncatedTokens ?? 0) > 0, windows: encodings.length };
    });
    const pooled = await this.runWindows(windows.map((w) => w.encoding), pooling, options, texts.length);
    // Average the windows of each text (chunk mode), then truncate to `dimensions` and normalise.
    const sums: Float32Array[] = new Array(texts.length);
    windows.forEach((w, k) => {
      const v = pooled[k];
      if (!sums[w.text]) sums[w.text] = v.slice();
      else for (let c = 0; c < v.length; c++) sums[w.text][c] += v[c];
    });
    return details.map((d, i) => {
      if (d.windows > 1) for (let c = 0; c < sums[i].length; c++) sums[i][c] /= d.windows;
      return { embedding: truncateAndNormalize(sums[i], options.dimensions, normalize), ...d };
    });
  }

  /** All vectors as one row-major matrix [texts, dimension] (e.g. for a vector index or .npy). */
  async embedMatrix(texts: readonly string[], options: EmbedOptions = {}): Promise<Tensor> {
    const vectors = await this.embed(texts, options);
    const matrix = new Float32Array(vectors.length * this.dimension);
    vectors.forEach((v, i) => matrix.set(v, i * this.dimension));
    return new Tensor(matrix, [vectors.length, this.dimension]);
  }

  /** Token vectors ([len][hidden], special tokens included) for each text: pooling "none". */
  async tokenEmbeddings(texts: readonly EmbedInput[], options: EmbedOptions = {}): Promise<{ tokens: string[]; vectors: Float32Array[] }[]> {
    if (options.dimensions !== undefined) throw new Error("dimensions applies to one vector per text, not to token vectors");
    const encodings = texts.map((t, i) => this.encodeText(t, i, options.longInputs === "error" ? "error" : "truncate", options)[0]);
    const out: { tokens: string[]; vectors: Float32Array[] }[] = [];
    for (const batch of this.batches(encodings, options)) {
      const res = this.model.forward(batch.map((i) => encodings[i]), { outputHiddenStates: needsHiddenStates({ strategy: "none", layers: this.layers }) });
      const vectors = pool(res, { strategy: "none", layers: this.layers, normalize: options.normalize ?? this.normalize }, this.model.config.num_hidden_layers);
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

  /** The input's windows: one encoding, or (chunk mode, over maxLength) several; a pair's second text is windowed. */
  private encodeText(input: EmbedInput, index: number, mode: LongInputMode, options: EmbedOptions): Encoding[] {
    const [text, pair] = splitInput(input, index);
    const full = this.tokenizer.encode(text, pair, { truncation: false });
    const n = full.inputIds.length;
    if (n <= this.maxLength) return [full];
    if (mode === "error") throw new Error(`Text ${index} has ${n} tokens, more than maxLength ${this.maxLength}`);
    if (mode === "truncate") {
      options.onTruncate?.(index, n, this.maxLength);
      return [this.tokenizer.encode(text, pair, { truncation: true, maxLength: this.maxLength })];
    }
    const stride = options.chunkStride ?? Math.floor(this.maxLength / 4);
    const first = this.tokenizer.encode(text, pair, { truncation: true, maxLength: this.maxLength, stride, returnOverflowingTokens: true });
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

  private async runWindows(encodings: readonly Encoding[], pooling: PoolingStrategy, options: EmbedOptions, totalTexts: number): Promise<Float32Array[]> {
    const out: Float32Array[] = new Array(encodings.length);
    const wantHidden = needsHiddenStates({ strategy: pooling, layers: this.layers });
    let done = 0;
    for (const batch of this.batches(encodings, options)) {
      const res = this.model.forward(batch.map((i) => encodings[i]), { outputHiddenStates: wantHidden });
      // Normalisation happens after window averaging, in embed().
      const vectors = pool(res, { strategy: pooling, layers: this.layers, normalize: false }, this.model.config.num_hidden_layers);
      batch.forEach((i, k) => (out[i] = vectors[k]));
      done += batch.length;
      options.onProgress?.(Math.min(done, totalTexts), totalTexts);
      // Yield to the event loop between batches so callers' timers and I/O keep running.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return out;
  }
}

function splitInput(input: EmbedInput, index: number): [string, string | undefined] {
  if (typeof input === "string") return [input, undefined];
  if (Array.isArray(input) && input.length === 2 && typeof input[0] === "string" && typeof input[1] === "string") return [input[0], input[1]];
  throw new TypeError(`Expected a string or a [string, string] pair for text ${index} but received ${JSON.stringify(input)?.slice(0, 80) ?? typeof input}`);
}

function checkPoolingAvailable(pooling: PoolingStrategy, model: BertModel, dir: string): void {
  if (pooling === "pooler" && !model.hasPooler) {
    throw new Error(`${dir} has no pooler weights, so pooling "pooler" is unavailable; use "cls" for the raw [CLS] vector`);
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
