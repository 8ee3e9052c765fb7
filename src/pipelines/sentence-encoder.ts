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
import type { ModelLocation } from "../io/model-source.js";
import { fileExists as existsSync, join, yieldToEventLoop } from "../io/host.js";
import type { Backend, Dtype } from "../backend/backend.js";
import type { BackendName } from "../backend/index.js";
import { resolveModel, type ResolvedModel, type ResolveOptions } from "../io/hub.js";
import { BertModel } from "../models/bert/model.js";
import { readDefaultPooling, type DefaultPooling } from "../pooling/defaults.js";
import { LAST_LAYER, type LayerSelection } from "../pooling/layers.js";
import { explainPooling, type PoolingExplanation } from "../pooling/explain.js";
import { forwardOptionsFor, pool, selectTokenVectors } from "../pooling/pool.js";
import { combineParts, PART_POOLINGS, splitSentences, type PartPooling } from "../pooling/parts.js";
import { checkDimensions, truncateAndNormalize } from "../pooling/dimensions.js";
import { cosineSimilarity, similarity, type SimilarityFunction } from "../pooling/similarity.js";
import { applyDense, modulesDimension, poolModes, readPrompts, resolvePrompt, type PromptOptions, type Prompts, type SentenceTransformersModules } from "../pooling/st-modules.js";
import type { EncoderOutput } from "../models/output.js";
import { pooledWidth, type PoolingStrategy } from "../pooling/strategies.js";
import { Tensor } from "../tensor/tensor.js";
import type { Encoding, IdsEncoding } from "../tokenizers/encoding.js";
import { checkEncoding, checkFinite, checkTokenizerFitsModel, type NonFiniteMode } from "./input-check.js";
import { loadTokenizer, type Tokenizer } from "../tokenizers/index.js";
import { traceLoad } from "../io/load-trace.js";
import { accelerateWordPiece } from "./word-piece-acceleration.js";
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
  backend?: Backend | BackendName;
  /** What the linear layers compute in: float32 (default), bf16 or int8 (native backend). */
  dtype?: Dtype;
  /** How a model id is found or downloaded. */
  resolve?: ResolveOptions;
  /** The model as a caller already resolved it (its id and commit then appear in provenance). */
  resolved?: ResolvedModel;
}

export type LongInputMode = "truncate" | "chunk" | "error";

/** A text, or a sentence pair [a, b] encoded as BertModel(**tokenizer(a, b)) reads it ([CLS] a [SEP] b [SEP]). */
export type EmbedInput = string | readonly [string, string];

export interface EmbedOptions extends PromptOptions {
  /** Most texts per forward pass (default 32). */
  batchSize?: number;
  /** Most real tokens per forward pass (default 16384): keeps memory flat for long texts. */
  maxBatchTokens?: number;
  /** What to do with texts over maxLength: truncate (default, reported via onTruncate), chunk (windows averaged), error. */
  longInputs?: LongInputMode;
  /** Overlap in tokens between chunk windows (chunk mode; default maxLength / 4). */
  chunkStride?: number;
  /** How a text's windows (chunk mode) combine: mean (default), weighted by token count, or elementwise max. */
  windowPooling?: PartPooling;
  onProgress?: (done: number, total: number) => void;
  /** Called for each text that was truncated, with its full token count. */
  onTruncate?: (index: number, numTokens: number, maxLength: number) => void;
  /** A vector with NaN/Inf (weights holding them, overflow): "error" (default, NonFiniteOutputError) or "warn". */
  nonFinite?: NonFiniteMode;
  /** This call's pooling (default: the encoder's; a different one bypasses the model's sentence-transformers modules). */
  pooling?: PoolingStrategy;
  /** This call's L2 normalisation (default: the encoder's, whatever the pooling). */
  normalize?: boolean;
  /** Matryoshka: keep the first n components (after Dense), then normalise (when normalising). Default: all. */
  dimensions?: number;
}

/** One input's vector and how it was made. */
export interface EmbeddedText {
  embedding: Float32Array;
  /** Tokens of the whole input, special tokens included, before any truncation. */
  numTokens: number;
  /** True when truncation cut the input (longInputs "truncate"). */
  truncated: boolean;
  /** Windows combined into the vector (more than 1 only in chunk mode). */
  windows: number;
}

/** A part of a document (a token window or a sentence) and its vector. */
export interface EmbeddedPart {
  /** [start, end) UTF-16 offsets into the document of the text the part covers. */
  span: [number, number];
  /** Tokens the model saw for this part, special tokens included (summed over windows). */
  numTokens: number;
  /** The part's vector, normalised when the encoder normalises. */
  embedding: Float32Array;
}

/** A document's vector and the vectors of the parts it was pooled from. */
export interface DocumentEmbedding {
  embedding: Float32Array;
  parts: EmbeddedPart[];
}

export interface SentenceEmbedOptions extends Omit<EmbedOptions, "windowPooling"> {
  /** Locale for sentence boundaries (Intl.Segmenter); default: the runtime's. */
  locale?: string;
  /** How sentence vectors combine into the document vector: mean (default), weighted by tokens, or max. */
  sentencePooling?: PartPooling;
}

/** One part of a text's forward-pass results, before the parts combine. */
interface RawWindow {
  vector: Float32Array;
  numTokens: number;
  /** The window's encoding: a full Encoding when its character span was asked for (embedWindows' `spans`). */
  encoding: Encoding | IdsEncoding;
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
  /** The model's sentence-transformers modules after the encoder, when they are used. */
  modules?: string;
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
    /**
     * The folder's sentence-transformers Pooling/Dense modules, used unless the caller chose a
     * pooling (with several pooling modes, `pooling` names the first).
     */
    readonly modules: SentenceTransformersModules | undefined,
    /** config_sentence_transformers.json's prompts. */
    readonly prompts: Prompts,
    /** Where the model was found (folder, or hub id + revision + commit). */
    readonly resolved: ResolvedModel,
  ) {}

  static async load(nameOrPath: ModelLocation, options: SentenceEncoderOptions = {}): Promise<SentenceEncoder> {
    const resolved = options.resolved ?? (await resolveModel(nameOrPath, options.resolve));
    const dir = resolved.dir;
    const [model, tokenizer] = await Promise.all([BertModel.fromPretrained(dir, { backend: options.backend, dtype: options.dtype }), loadTokenizer(dir)]);
    accelerateWordPiece(tokenizer, model.backend);
    const [defaults, prompts]: [DefaultPooling, Prompts] = await Promise.all([
      readDefaultPooling(dir, model.hasPooler, model.family.defaultPooling),
      readPrompts(dir),
    ]);
    const pooling = options.pooling ?? defaults.strategy;
    checkPoolingAvailable(pooling, model, dir, options.layers ?? LAST_LAYER);
    checkTokenizerFitsModel(tokenizer, model.config, dir);
    const positions = model.config.max_position_embeddings - (model.family.positionRule === "roberta" ? model.config.pad_token_id + 1 : 0);
    if (positions < 2) {
      throw new Error(
        `${join(dir, "config.json")}: "max_position_embeddings" ${model.config.max_position_embeddings} leaves ${positions} positions after RoBERTa's offset ("pad_token_id" ${model.config.pad_token_id} + 1); expected at least 2`,
      );
    }
    const limit = Math.min(positions, tokenizer.modelMaxLength);
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
      options.pooling === undefined ? defaults.modules : undefined,
      prompts,
      resolved,
    );
  }

  /** Vector length for a pooling (default: the encoder's), before any `dimensions` truncation. */
  dimensionFor(pooling: PoolingStrategy = this.pooling): number {
    const h = this.model.config.hidden_size;
    if (this.modules && pooling === this.pooling) return modulesDimension(this.modules, h);
    return pooledWidth(pooling, h);
  }

  get dimension(): number {
    return this.dimensionFor();
  }

  get info(): EmbeddingInfo {
    const info: EmbeddingInfo = {
      strategy: this.pooling,
      normalize: this.normalize,
      source: this.poolingSource,
      modelDefault: this.modelDefault,
      maxLength: this.maxLength,
      dimension: this.dimension,
    };
    if (this.modules) info.modules = this.modules.description;
    return info;
  }

  /**
   * Where embed(texts, options)'s vectors come from: the model (id, revision and commit when it was
   * resolved from the hub or its cache; weights sha256 computed once) and the pooling (and where it
   * came from), normalisation, dimensions, prompt and length policy in effect. embedDetailed() gives
   * the per-input part (tokens, truncated, windows).
   */
  async provenance(options: Pick<EmbedOptions, "pooling" | "normalize" | "dimensions" | "prompt" | "promptName" | "longInputs"> = {}): Promise<Provenance> {
    this.modelProvenance ??= modelProvenance(this.resolved, this.model);
    const pooling = options.pooling ?? this.pooling;
    const prompt = this.resolvePrompt(options);
    return {
      ...(await this.modelProvenance),
      pooling,
      pooling_source: pooling === this.pooling ? this.poolingSource : `chosen per call; the model's own is ${this.modelDefault.strategy}`,
      layers: describeLayers(this.layers),
      normalize: options.normalize ?? this.normalize,
      ...(options.dimensions !== undefined ? { dimensions: options.dimensions } : {}),
      ...(prompt !== "" ? { prompt } : {}),
      max_length: this.maxLength,
      long_inputs: options.longInputs ?? "truncate",
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
    const { windows, details } = await this.embedWindows(texts, options);
    const windowPooling = options.windowPooling ?? "mean";
    if (windows.length > 0 && !(PART_POOLINGS as readonly string[]).includes(windowPooling)) combineParts([], [], windowPooling); // its error, as before
    return windows.map((w, i) => ({
      // One window (the usual case): finish() copies it anyway, so no combineParts copy first.
      embedding: this.finish(w.length === 1 ? w[0].vector : combineParts(w.map((x) => x.vector), w.map((x) => x.numTokens), windowPooling), options),
      ...details[i],
    }));
  }

  /**
   * Each text's vector (its windows combined by options.windowPooling) with every window's vector
   * and character span: where in a long document a match is. One window when the text fits.
   * Sentence pairs are refused (a window's span would not say which text it covers).
   */
  async embedWithWindows(texts: readonly string[], options: EmbedOptions = {}): Promise<DocumentEmbedding[]> {
    texts.forEach((t, i) => refusePair(t, i, "embedWithWindows()"));
    const { windows } = await this.embedWindows(texts, options, true);
    return windows.map((w) => ({
      embedding: this.finish(combineParts(w.map((x) => x.vector), w.map((x) => x.numTokens), options.windowPooling ?? "mean"), options),
      parts: w.map((x) => ({ span: characterSpan(x.encoding as Encoding), numTokens: x.numTokens, embedding: this.finish(x.vector, options) })),
    }));
  }

  /**
   * Each text cut into sentences (Intl.Segmenter), every sentence embedded alone (as embed() would
   * embed it), and the sentence vectors combined into the document vector. onProgress counts
   * sentences; onTruncate names the text a truncated sentence belongs to. Sentence pairs are refused.
   */
  async embedSentences(texts: readonly string[], options: SentenceEmbedOptions = {}): Promise<(DocumentEmbedding & { sentences: string[] })[]> {
    const { locale, sentencePooling = "mean", ...rest } = options;
    const split = texts.map((text, i) => {
      refusePair(text, i, "embedSentences()");
      if (typeof text !== "string") throw new TypeError(`Expected a string for text ${i} but received ${typeof text}`);
      return splitSentences(text, locale);
    });
    const flat = split.flat();
    const owner = split.flatMap((parts, i) => parts.map(() => i));
    // A sentence over maxLength follows longInputs like any text; its windows combine by mean.
    const { windows } = await this.embedWindows(flat.map((x) => x.text), {
      ...rest,
      onTruncate: rest.onTruncate && ((k, n, max) => rest.onTruncate!(owner[k], n, max)),
    });
    const sentences = windows.map((w) => ({
      vector: combineParts(w.map((x) => x.vector), w.map((x) => x.numTokens), "mean"),
      numTokens: w.reduce((a, x) => a + x.numTokens, 0),
    }));
    let next = 0;
    return split.map((parts) => {
      const mine = sentences.slice(next, next + parts.length);
      next += parts.length;
      return {
        embedding: this.finish(combineParts(mine.map((x) => x.vector), mine.map((x) => x.numTokens), sentencePooling), options),
        sentences: parts.map((p) => p.text),
        parts: parts.map((p, k) => ({ span: p.span, numTokens: mine[k].numTokens, embedding: this.finish(mine[k].vector, options) })),
      };
    });
  }

  /**
   * The model's Dense modules (when its own pooling is used), then `dimensions` truncation, then
   * normalisation: always a new vector.
   */
  private finish(v: Float32Array, options: Pick<EmbedOptions, "pooling" | "normalize" | "dimensions">): Float32Array {
    const dense = this.applyDense(v, options.pooling ?? this.pooling);
    return truncateAndNormalize(dense, options.dimensions, options.normalize ?? this.normalize);
  }

  /**
   * Per input, its windows' pooled vectors (before Dense and normalisation), token counts and
   * encodings. `spans`: full Encodings (offsets, for characterSpan); else only what the model reads
   * (Tokenizer.encodeIds), which spares the loop a token string and offset pair per token.
   */
  private async embedWindows(texts: readonly EmbedInput[], options: EmbedOptions, spans = false): Promise<{ windows: RawWindow[][]; details: Omit<EmbeddedText, "embedding">[] }> {
    const pooling = options.pooling ?? this.pooling;
    if (pooling === "none") throw new Error('embed() returns one vector per text; use tokenEmbeddings() for pooling "none"');
    checkPoolingAvailable(pooling, this.model, this.modelDir, this.layers);
    checkDimensions(options.dimensions, this.dimensionFor(pooling));
    const mode = options.longInputs ?? "truncate";
    const prompt = this.resolvePrompt(options);
    if (prompt && mode === "chunk") throw new Error("Prompts and longInputs \"chunk\" cannot be combined yet: the prompt would open the first window only");
    // Each text becomes one or more windows; a window is one row of the forward pass.
    const windows: { text: number; encoding: Encoding | IdsEncoding }[] = [];
    const details = texts.map((text, i) => {
      const encodings = this.encodeText(this.withPrompt(prompt, text, i), i, mode, options, spans);
      for (const encoding of encodings) windows.push({ text: i, encoding });
      const numTokens = encodings[0].inputIds.length + (encodings[0].numTruncatedTokens ?? 0);
      return { numTokens, truncated: mode === "truncate" && (encodings[0].numTruncatedTokens ?? 0) > 0, windows: encodings.length };
    });
    traceLoad(`tokenized ${texts.length}`);
    const pooled = await this.runWindows(windows.map((w) => w.encoding), pooling, options, texts.length, this.promptLength(prompt));
    const result: RawWindow[][] = texts.map(() => []);
    windows.forEach((w, k) => result[w.text].push({ vector: pooled[k], numTokens: w.encoding.inputIds.length, encoding: w.encoding }));
    windows.forEach((w, k) => checkFinite(pooled[k], w.text, options.nonFinite));
    return { windows: result, details };
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
    const prompt = this.resolvePrompt(options);
    const encodings = texts.map((t, i) => this.encodeText(this.withPrompt(prompt, t, i), i, options.longInputs === "error" ? "error" : "truncate", options)[0]);
    const out: { tokens: string[]; vectors: Float32Array[] }[] = [];
    for (const batch of this.batches(encodings, options)) {
      const res = this.model.forward(batch.map((i) => encodings[i]), forwardOptionsFor({ strategy: "none", layers: this.layers }));
      const vectors = pool(res, { strategy: "none", layers: this.layers, normalize: options.normalize ?? this.normalize }, this.model.config.num_hidden_layers);
      batch.forEach((i, k) => {
        checkFinite(vectors[k], i, options.nonFinite);
        const width = vectors[k].length / encodings[i].inputIds.length;
        out[i] = {
          tokens: encodings[i].tokens,
          vectors: Array.from({ length: encodings[i].inputIds.length }, (_, t) => vectors[k].slice(t * width, (t + 1) * width)),
        };
      });
    }
    return out;
  }

  /**
   * What this encoder's pooling looks at in a text: its tokens (truncated to maxLength) and one
   * value per token (see PoolingExplanation), e.g. the cls_attention weights.
   */
  explain(text: string): PoolingExplanation & { tokens: string[]; offsets: [number, number][]; strategy: PoolingStrategy } {
    if (typeof text !== "string") throw new TypeError(`Expected a string but received ${typeof text}`);
    const encoding = this.tokenizer.encode(text, undefined, { truncation: true, maxLength: this.maxLength });
    const out = this.model.forward(encoding, forwardOptionsFor({ strategy: this.pooling, layers: this.layers }));
    const explanation = explainPooling(out, 0, this.pooling, this.model.config.num_hidden_layers, this.layers);
    return { strategy: this.pooling, tokens: encoding.tokens, offsets: encoding.offsets, ...explanation };
  }

  /** The encodings embed() runs for one text: the text itself, or its overlapping windows (chunk mode). */
  windows(text: string, options: EmbedOptions = {}): Encoding[] {
    return this.encodeText(text, 0, options.longInputs ?? "truncate", options);
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

  /** The prompt text the options ask for ("" for none), as sentence-transformers' encode() resolves it. */
  resolvePrompt(options: PromptOptions): string {
    return resolvePrompt(this.prompts, options);
  }

  /**
   * The prompt's length as sentence-transformers counts it for include_prompt: its token count with
   * special tokens, minus the closing one — i.e. the first token and the prompt's own tokens.
   */
  promptLength(prompt: string): number {
    return prompt === "" ? 0 : this.tokenizer.encode(prompt).inputIds.length - 1;
  }

  /**
   * One vector per sequence of a forward pass, before Dense and normalisation: the model's
   * sentence-transformers Pooling module when used (promptLength for include_prompt), else the
   * pooling strategy. A pooling other than the encoder's bypasses the modules.
   */
  poolEncoded(out: EncoderOutput, promptLength = 0, pooling: PoolingStrategy = this.pooling): Float32Array[] {
    return this.pooledRows(out, promptLength, pooling, true);
  }

  /**
   * poolEncoded; copy false: plain mean's vectors are views on the batch's one pooled array (for
   * runWindows, whose vectors reach callers only through finish() or combineParts(), which copy).
   */
  private pooledRows(out: EncoderOutput, promptLength: number, pooling: PoolingStrategy, copy: boolean): Float32Array[] {
    const numLayers = this.model.config.num_hidden_layers;
    const st = this.modules && pooling === this.pooling ? this.modules.pooling : undefined;
    // Plain mean pooling of the last layer (the common sentence-transformers model): one backend
    // call for the batch (native: float64 sums in C++), the same values as the per-text TypeScript.
    const plainMean = st ? st.modes.length === 1 && st.modes[0] === "mean" && (promptLength === 0 || st.includePrompt) : pooling === "mean";
    if (plainMean && this.layers.kind === "last") {
      const h = out.hiddenSize;
      const pooled = this.model.backend.meanPool(out.hidden, out.seqStarts, h);
      const rows = new Array<Float32Array>(out.batchSize);
      for (let i = 0; i < out.batchSize; i++) rows[i] = copy ? pooled.slice(i * h, (i + 1) * h) : pooled.subarray(i * h, (i + 1) * h);
      return rows;
    }
    if (!st) return pool(out, { strategy: pooling, layers: this.layers, normalize: false }, numLayers);
    const modes = st;
    return Array.from({ length: out.batchSize }, (_, i) => {
      const tokens = selectTokenVectors(out, i, this.layers, numLayers);
      const len = out.length(i);
      return poolModes(tokens, len, tokens.length / len, modes, promptLength);
    });
  }

  /** The model's Dense modules, in order (identity when it has none, or for a pooling other than the encoder's). */
  applyDense(pooled: Float32Array, pooling: PoolingStrategy = this.pooling): Float32Array {
    return this.modules && pooling === this.pooling ? this.modules.dense.reduce((v, layer) => applyDense(layer, v), pooled) : pooled;
  }

  /** The prompt put before an input (a pair's first text); refused for pairs when the model's pooling excludes the prompt. */
  private withPrompt(prompt: string, input: EmbedInput, index: number): EmbedInput {
    if (prompt === "" || typeof input === "string") return typeof input === "string" ? prompt + input : input;
    if (!Array.isArray(input)) return input; // splitInput reports it
    if (this.modules && !this.modules.pooling.includePrompt) {
      throw new Error(`Text ${index} is a sentence pair: pairs cannot be combined with a prompt the model's pooling excludes (include_prompt false)`);
    }
    return [prompt + input[0], input[1]];
  }

  /**
   * The windows of one input, each checked against the model's tables (InvalidInputError names the
   * text). `full`: whole Encodings (tokens, offsets); else, unless chunk mode cuts windows, only the
   * ids and masks the model reads (Tokenizer.encodeIds).
   */
  private encodeText(input: EmbedInput, index: number, mode: LongInputMode, options: EmbedOptions, full?: true): Encoding[];
  private encodeText(input: EmbedInput, index: number, mode: LongInputMode, options: EmbedOptions, full: boolean): (Encoding | IdsEncoding)[];
  private encodeText(input: EmbedInput, index: number, mode: LongInputMode, options: EmbedOptions, full = true): (Encoding | IdsEncoding)[] {
    const windows = this.windowsOf(input, index, mode, options, full);
    for (const w of windows) checkEncoding(w, index, this.model.config, (id) => this.tokenizer.convertIdsToTokens(id));
    return windows;
  }

  /** The input's windows: one encoding, or (chunk mode, over maxLength) several; a pair's second text is windowed. */
  private windowsOf(input: EmbedInput, index: number, mode: LongInputMode, options: EmbedOptions, full: boolean): (Encoding | IdsEncoding)[] {
    const [text, pair] = splitInput(input, index);
    const encode = full ? this.tokenizer.encode.bind(this.tokenizer) : this.tokenizer.encodeIds.bind(this.tokenizer);
    const whole = encode(text, pair, { truncation: false });
    const n = whole.inputIds.length;
    if (n <= this.maxLength) return [whole];
    if (mode === "error") throw new Error(`Text ${index} has ${n} tokens, more than maxLength ${this.maxLength}`);
    if (mode === "truncate") {
      options.onTruncate?.(index, n, this.maxLength);
      return [encode(text, pair, { truncation: true, maxLength: this.maxLength })];
    }
    const stride = options.chunkStride ?? Math.floor(this.maxLength / 4);
    const first = this.tokenizer.encode(text, pair, { truncation: true, maxLength: this.maxLength, stride, returnOverflowingTokens: true });
    return [first, ...first.overflowing];
  }

  /** Groups encoding indices into batches: sorted by length, bounded by count and by tokens. */
  private *batches(encodings: readonly IdsEncoding[], options: EmbedOptions): Generator<number[]> {
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

  private async runWindows(encodings: readonly IdsEncoding[], pooling: PoolingStrategy, options: EmbedOptions, totalTexts: number, promptLength: number): Promise<Float32Array[]> {
    const out: Float32Array[] = new Array(encodings.length);
    // Pooled right after each pass, before the next: the model may reuse its output buffer.
    // The pooler (a dense layer + tanh per batch) only for pooling "pooler".
    const keep = { ...forwardOptionsFor({ strategy: pooling, layers: this.layers }), reuseOutputBuffer: true, skipPooler: pooling !== "pooler" };
    let done = 0;
    for (const batch of this.batches(encodings, options)) {
      const res = this.model.forward(batch.map((i) => encodings[i]), keep);
      // Dense, dimensions and normalisation happen after window combination, in finish().
      const vectors = this.pooledRows(res, promptLength, pooling, false);
      batch.forEach((i, k) => (out[i] = vectors[k]));
      done += batch.length;
      options.onProgress?.(Math.min(done, totalTexts), totalTexts);
      // Yield to the event loop between batches so callers' timers and I/O keep running.
      await yieldToEventLoop();
    }
    return out;
  }
}

/** [start, end) of the text an encoding's non-special tokens came from ([0, 0] when there are none). */
function characterSpan(e: Encoding): [number, number] {
  // Every window of every text passes here: a plain loop, no closure or destructuring per token.
  let start = Infinity;
  let end = 0;
  const { offsets, specialTokensMask } = e;
  for (let t = 0; t < offsets.length; t++) {
    if (specialTokensMask[t] === 1) continue;
    const span = offsets[t];
    if (span[0] < start) start = span[0];
    if (span[1] > end) end = span[1];
  }
  return start === Infinity ? [0, 0] : [start, end];
}

function splitInput(input: EmbedInput, index: number): [string, string | undefined] {
  if (typeof input === "string") return [input, undefined];
  if (Array.isArray(input) && input.length === 2 && typeof input[0] === "string" && typeof input[1] === "string") return [input[0], input[1]];
  throw new TypeError(`Expected a string or a [string, string] pair for text ${index} but received ${JSON.stringify(input)?.slice(0, 80) ?? typeof input}`);
}

/** Throws for a sentence pair where only single texts make sense (window/sentence parts and their spans). */
function refusePair(input: unknown, index: number, where: string): void {
  if (Array.isArray(input)) throw new TypeError(`${where} does not take sentence pairs (text ${index} is a pair); embed() does`);
}

function checkPoolingAvailable(pooling: PoolingStrategy, model: BertModel, dir: string, layers: LayerSelection): void {
  if (pooling === "pooler" && !model.hasPooler) {
    const why = model.family.pooler === undefined ? `no pooler (${model.family.className}Model has none)` : "no pooler weights";
    throw new Error(`${dir} has ${why}, so pooling "pooler" is unavailable; use "cls" for the raw ${model.family.firstTokenName} vector`);
  }
  if (pooling === "cls_attention" && layers.kind !== "last") {
    throw new Error('Pooling "cls_attention" reads the last layer only (its weights are that layer\'s attention); leave out the layer selection');
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
