/**
 * BertModel: embeddings → N encoder layers → (optional) pooler, over packed batches.
 * Mirrors modeling_bert.py BertModel; every family (RoBERTa, XLM-R, DistilBERT, ELECTRA, ALBERT,
 * MPNet) is this encoder with another ModelFamily (models/registry.ts).
 */
import { emitWarning, join, openModelFolder } from "../../io/host.js";
import { floatArray, type Backend, type Dtype, type PositionBias } from "../../backend/backend.js";
import { getBackend, type BackendName } from "../../backend/index.js";
import { parseBertConfig, type BertConfig } from "../../config/bert-config.js";
import { resolveModelFolder, type ResolveOptions } from "../../io/hub.js";
import { readModelText } from "../../io/model-files.js";
import { loadWeights } from "../../io/weights.js";
import { withPackedWeightCache } from "../../io/packed-weight-cache.js";
import { traceLoad } from "../../io/load-trace.js";
import type { ModelInput } from "../../tokenizers/encoding.js";
import { Checkpoint, readDeferred, withDeferredLinearReads, type LoadReport, type WeightSource } from "../checkpoint.js";
import { EncoderOutput } from "../output.js";
import { packInputs } from "../packed.js";
import { familyFor, type ModelFamily } from "../registry.js";
import { BertEmbeddings } from "./embeddings.js";
import { LayerScratch, type LayerSteps } from "./layer.js";
import { BertPooler } from "./pooler.js";

export interface ForwardOptions {
  /** Keep every layer's output (index 0 = embeddings). */
  outputHiddenStates?: boolean;
  /** Keep attention probabilities per layer and sequence. */
  outputAttentions?: boolean;
  /**
   * Keep the last layer's attention from the first token to every token, per head (pooling
   * "cls_attention"); the backend computes only that row, not the full matrices.
   */
  outputFirstTokenAttention?: boolean;
  /**
   * The returned hidden states may live in a buffer the model keeps and overwrites on the next
   * forward pass that also sets this: for callers that read the output before they call forward
   * again (pooling pipelines). Saves a fresh batch-sized array, i.e. page faults, per batch.
   */
  reuseOutputBuffer?: boolean;
  /** Leave the pooler out (callers that pool otherwise, e.g. mean): poolerOutput then throws saying so. */
  skipPooler?: boolean;
}

export interface LoadOptions {
  /** A backend, or its name for getBackend ("reference", "native", "wasm"); default: getBackend(). */
  backend?: Backend | BackendName;
  /** How a hub id (`org/name`) is found: models dir, Hugging Face cache, hub. */
  resolve?: ResolveOptions;
  /** What the linear layers compute in (default float32); picks the native backend for bf16 / int8. */
  dtype?: Dtype;
}

/** Checkpoints smaller than this are packed afresh in float32 rather than cached (~8 ms of packing). */
const FLOAT32_CACHE_MIN_BYTES = 16 * 1024 * 1024;

export class BertModel {
  private constructor(
    readonly config: BertConfig,
    readonly family: ModelFamily,
    readonly backend: Backend,
    readonly embeddings: BertEmbeddings,
    private readonly steps: LayerSteps,
    private readonly positionBias: PositionBias | undefined,
    private readonly pooler: BertPooler | undefined,
    /** The checkpoint, kept so heads can read their own tensors and the load report can be completed. */
    readonly checkpoint: Checkpoint,
    readonly dir?: string,
  ) {}

  /**
   * Loads config.json and the weights of a model folder, or of a hub id (`org/name[@revision]`)
   * found as SentenceEncoder.load finds it: BERT_TS_MODELS, the Hugging Face cache, the hub.
   * The head classes' fromPretrained come through here.
   */
  static async fromPretrained(nameOrPath: string, options: LoadOptions = {}): Promise<BertModel> {
    const dir = await openModelFolder(await resolveModelFolder(nameOrPath, options.resolve), "model");
    const config = await readConfig(dir);
    const weights = await loadWeights(dir);
    traceLoad("weights opened");
    const backend = backendFor(options);
    traceLoad("backend");
    // int8 / bf16: the packed layers come from the cache when these weights were quantised before.
    // On a hit the checkpoint's copies of those layers are not even read (withDeferredLinearReads).
    // A small float32 checkpoint packs faster than the cache's bookkeeping (a digest, a file per model).
    const build = () => BertModel.fromWeights(config, weights, backend, dir);
    const model =
      backend.dtype === "float32" && weights.totalBytes < FLOAT32_CACHE_MIN_BYTES
        ? build()
        : await withPackedWeightCache(backend, dir, build, { defer: withDeferredLinearReads, ensure: readDeferred }, { fromSecondSight: backend.dtype === "float32" });
    warnAboutExtraLayers(model, dir);
    traceLoad("model built");
    return model;
  }

  /** Builds the model from a config and any weight source (tests make tiny random ones). */
  static fromWeights(config: BertConfig, weights: WeightSource, backend: Backend, dir?: string): BertModel {
    const family = familyFor(config.model_type);
    const ckpt = new Checkpoint(weights, family.basePrefix, dir ?? "weights");
    const embeddings = BertEmbeddings.load(ckpt, config, family.positionRule, family.embeddings, backend);
    const steps = family.layers(ckpt, config, backend);
    const positionBias = family.positionBias?.(ckpt, config);
    const pooler = family.pooler === undefined ? undefined : BertPooler.loadIfPresent(ckpt, config, backend, family.pooler);
    ckpt.releaseBuffers();
    return new BertModel(config, family, backend, embeddings, steps, positionBias, pooler, ckpt, dir);
  }

  /**
   * The layers' intermediate buffers, kept from one forward pass to the next (forward is
   * synchronous, so passes never share them): fresh ones cost page faults, zero-filling and GC on
   * every batch. Grown, never shrunk, to the largest block seen.
   */
  private scratch?: LayerScratch;
  private layerScratch(rows: number, batchRows: number): LayerScratch {
    if (!this.scratch || this.scratch.maxRows < rows) {
      // A batch longer than a block is cut into blocks of up to BLOCK_ROWS rows, and the next batch's
      // blocks may be fuller than this one's: size for a whole block at once. Otherwise grown at
      // least 2x (up to a full block), not to the exact size: batches of a corpus come in every size,
      // and each regrowth is a fresh buffer to fault in (~4 MB for MiniLM).
      const grown = batchRows > BLOCK_ROWS ? Math.max(rows, BLOCK_ROWS) : Math.max(rows, Math.min(BLOCK_ROWS, 2 * (this.scratch?.maxRows ?? 0)));
      this.scratch = new LayerScratch(grown, this.config.hidden_size, this.config.intermediate_size, (n) => floatArray(this.backend, n));
    }
    return this.scratch;
  }

  /** Kept for ForwardOptions.reuseOutputBuffer; grown (at least 1.5x, as the scratch), never shrunk. */
  private output?: Float32Array;
  private outputBuffer(length: number): Float32Array {
    if (!this.output || this.output.length < length) this.output = floatArray(this.backend, Math.max(length, Math.ceil(1.5 * (this.output?.length ?? 0))));
    return this.output.subarray(0, length);
  }

  get hasPooler(): boolean {
    return this.pooler !== undefined;
  }

  /** Missing and unexpected tensors so far (heads that load later consume their own). */
  get loadReport(): LoadReport {
    return this.checkpoint.report();
  }

  /** Runs the encoder on one input or a batch (padded or not; padding is dropped and never computed). */
  forward(inputs: ModelInput | readonly ModelInput[], options: ForwardOptions = {}): EncoderOutput {
    const list = isBatch(inputs) ? inputs : [inputs];
    const batch = packInputs(list);
    const h = this.config.hidden_size;
    const rows = batch.inputIds.length;
    let x = this.embeddings.forward(batch, this.backend, options.reuseOutputBuffer ? this.outputBuffer(rows * h) : undefined); // (rows, h)
    const hiddenStates = options.outputHiddenStates ? [x] : undefined;
    const attentions = options.outputAttentions ? ([] as Float32Array[][]) : undefined;
    const blocks = rowBlocks(batch.seqStarts, BLOCK_ROWS);
    const scratch = this.layerScratch(Math.max(...blocks.map((b) => b.rows)), rows);
    // (heads, len) per sequence, sequence s at heads · seqStarts[s]: blocks hold whole sequences in order.
    let firstTokenAttention: Float32Array | undefined;
    for (const [stepIndex, step] of this.steps.entries()) {
      // Without kept hidden states, each layer overwrites its input (the embedding output is ours).
      const next = hiddenStates ? new Float32Array(x.length) : x;
      for (const [i, layer] of step.entries()) {
        const input = i === 0 ? x : next;
        // The last layer by position (ALBERT's layers are shared objects).
        const wantFirstRow = options.outputFirstTokenAttention === true && stepIndex === this.steps.length - 1 && i === step.length - 1;
        if (wantFirstRow) firstTokenAttention = new Float32Array(this.config.num_attention_heads * batch.seqStarts[list.length]);
        const probs: Float32Array[] = [];
        for (const b of blocks) {
          const span = [b.firstRow * h, (b.firstRow + b.rows) * h] as const;
          const out = layer.forward(
            input.subarray(...span),
            b.seqStarts,
            this.backend,
            options.outputAttentions === true,
            scratch.forRows(b.rows),
            next.subarray(...span),
            this.positionBias,
            wantFirstRow,
          );
          if (out.attentionProbs) probs.push(...out.attentionProbs);
          if (out.firstRowAttention) firstTokenAttention!.set(out.firstRowAttention, this.config.num_attention_heads * b.firstRow);
        }
        attentions?.push(probs);
      }
      x = next;
      hiddenStates?.push(x);
    }
    const numSeqs = list.length;
    let pooled: Float32Array | undefined;
    if (this.pooler && options.skipPooler !== true) {
      const cls = new Float32Array(numSeqs * h);
      for (let s = 0; s < numSeqs; s++) cls.set(x.subarray(batch.seqStarts[s] * h, (batch.seqStarts[s] + 1) * h), s * h);
      pooled = this.pooler.forward(cls, numSeqs, this.backend);
    }
    return new EncoderOutput(
      x,
      batch.seqStarts,
      h,
      batch.inputLengths,
      batch.positions,
      pooled,
      this.pooler && options.skipPooler === true
        ? "the forward pass was asked to skip the pooler (ForwardOptions.skipPooler)"
        : this.family.pooler === undefined
        ? `${this.family.className}Model has no pooler; use the raw first-token vector (pooling "cls") instead`
        : `the checkpoint${this.dir ? ` in ${this.dir}` : ""} has no pooler weights (${this.checkpoint.basePrefix}${this.family.pooler}.*); use the raw first-token vector (pooling "cls") instead`,
      hiddenStates,
      attentions,
      firstTokenAttention,
    );
  }
}

/**
 * Rows per block: each layer runs over the batch a block of whole sequences at a time, so its
 * intermediate buffers (≈ 7·hidden + intermediate floats per row) stay the same size whatever the
 * batch (MiniLM: 4.3 MB). Since the GEMM split keeps W to one pass per 128 rows (ops.cc
 * split_gemm), 256- and 4,096-row blocks of a 32 × 128 bert-base batch cost the same CPU time
 * within noise (5.0–5.5 s a call at 2 threads under load), and MiniLM never differed; 4,096 only
 * made the first call dearer (its 4,096-row scratch faults in: +0.3–0.8 s CPU at 1 thread). Every
 * row's arithmetic is independent of which block it is in (the Backend's batch-invariance contract).
 */
const BLOCK_ROWS = 256;

interface RowBlock {
  firstRow: number;
  rows: number;
  /** Sequence offsets relative to firstRow. */
  seqStarts: Int32Array;
}

/** Consecutive whole sequences grouped into blocks of at most maxRows rows (a longer sequence is a block of its own). */
export function rowBlocks(seqStarts: Int32Array, maxRows: number): RowBlock[] {
  const blocks: RowBlock[] = [];
  const numSeqs = seqStarts.length - 1;
  let first = 0;
  while (first < numSeqs) {
    let end = first + 1;
    while (end < numSeqs && seqStarts[end + 1] - seqStarts[first] <= maxRows) end++;
    const firstRow = seqStarts[first];
    blocks.push({
      firstRow,
      rows: seqStarts[end] - firstRow,
      seqStarts: seqStarts.slice(first, end + 1).map((r) => r - firstRow),
    });
    first = end;
  }
  return blocks;
}

/** The caller's backend, or the default one for the dtype asked for; the two must agree. */
export function backendFor(options: LoadOptions): Backend {
  if (typeof options.backend === "string") return getBackend(options.backend, { dtype: options.dtype });
  if (options.backend) {
    const backend = typeof options.backend === "string" ? getBackend(options.backend, { dtype: options.dtype }) : options.backend;
    if (options.dtype !== undefined && options.dtype !== backend.dtype) {
      throw new Error(`Expected a backend computing in ${options.dtype} but the one given computes in ${backend.dtype}`);
    }
    return backend;
  }
  return getBackend(undefined, { dtype: options.dtype });
}

function isBatch(x: ModelInput | readonly ModelInput[]): x is readonly ModelInput[] {
  return Array.isArray(x);
}

/** Layers in the checkpoint beyond config.json's num_hidden_layers are not silently dropped: a loud warning counts them. */
function warnAboutExtraLayers(model: BertModel, dir: string): void {
  const layers = model.config.num_hidden_layers;
  const extra = model.loadReport.unexpectedKeys.filter((name) => {
    const m = /(?:^|\.)encoder\.layer\.(\d+)\./.exec(name);
    return m !== null && Number(m[1]) >= layers;
  });
  if (extra.length === 0) return;
  emitWarning(
    `${join(dir, "config.json")}: "num_hidden_layers" is ${layers}, but the checkpoint holds ${extra.length} tensors of further layers (e.g. "${extra[0]}"), which are not used`,
    { type: "BertTsWarning", code: "BERT_TS_UNUSED_LAYERS" },
  );
}

export async function readConfig(dir: string): Promise<BertConfig> {
  const file = join(dir, "config.json");
  const text = await readModelText(file);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  return parseBertConfig(raw, file);
}
