/**
 * The inference worker (a worker_threads thread): holds the model(s) and runs every forward pass,
 * so the HTTP thread's event loop never blocks on compute. It does no tokenisation and no
 * post-processing beyond pooling: the HTTP thread sends token ids, gets vectors or logits back.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { parentPort, workerData } from "node:worker_threads";
import { BertForSequenceClassification } from "../heads/sequence-classification.js";
import { defaultClassificationFunction } from "../pipelines/text-classification.js";
import { modelProvenance } from "../pipelines/provenance.js";
import { SentenceEncoder } from "../pipelines/sentence-encoder.js";
import { SparseEncoder } from "../pipelines/sparse-encoder.js";
import { explainPooling } from "../pooling/explain.js";
import { forwardOptionsFor } from "../pooling/pool.js";
import type { ModelInput } from "../tokenizers/encoding.js";
import type { PoolingStrategy } from "../pooling/strategies.js";
import { OUTPUT_EXPLAIN, OUTPUT_TOKENS, poolingOfOutput, type BatchRequest, type BatchResult, type WorkerConfig, type WorkerMessage, type WorkerReady } from "./protocol.js";

const port = parentPort;
if (!port) throw new Error("src/server/worker.ts runs as a worker thread");
const config = workerData as WorkerConfig;

let encoder: SentenceEncoder | undefined;
let sparseEncoder: SparseEncoder | undefined;
let classifier: BertForSequenceClassification | undefined;

function post(message: WorkerMessage, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

async function load(): Promise<WorkerReady> {
  const ready: WorkerReady = { type: "ready", warmupTokensPerSecond: 0 };
  if (config.embedding && config.sparse) {
    sparseEncoder = await SparseEncoder.load(config.embedding);
    const resolved = config.embeddingResolved ?? { dir: sparseEncoder.modelDir, source: "path" as const };
    const c = sparseEncoder.head.model.config;
    ready.embedding = {
      dir: sparseEncoder.modelDir,
      pooling: "splade",
      sparse: true,
      includePrompt: true,
      normalize: false,
      maxLength: sparseEncoder.maxLength,
      dimension: sparseEncoder.dimension,
      hiddenSize: c.hidden_size,
      hasPooler: false,
      vocabSize: c.vocab_size,
      typeVocabSize: c.type_vocab_size,
      modelType: c.model_type,
      randomWeights: existsSync(join(sparseEncoder.modelDir, "GENERATED.json")),
      backend: sparseEncoder.head.model.backend.name,
      provenance: { ...(await modelProvenance(resolved, sparseEncoder.head.model)), pooling: "splade", normalize: false, max_length: sparseEncoder.maxLength },
    };
  } else if (config.embedding) {
    encoder = await SentenceEncoder.load(config.embedding, { pooling: config.pooling, resolved: config.embeddingResolved });
    ready.embedding = {
      dir: encoder.modelDir,
      pooling: encoder.pooling,
      sparse: false,
      includePrompt: encoder.modules?.pooling.includePrompt ?? true,
      normalize: encoder.normalize,
      maxLength: encoder.maxLength,
      dimension: encoder.dimension,
      hiddenSize: encoder.model.config.hidden_size,
      hasPooler: encoder.model.hasPooler,
      vocabSize: encoder.model.config.vocab_size,
      typeVocabSize: encoder.model.config.type_vocab_size,
      modelType: encoder.model.config.model_type,
      randomWeights: encoder.randomWeights,
      backend: encoder.model.backend.name,
      provenance: await encoder.provenance(),
    };
  }
  if (config.classifier) {
    classifier = await BertForSequenceClassification.fromPretrained(config.classifier);
    ready.classifier = {
      dir: config.classifier,
      labels: [...classifier.labels],
      defaultFunction: defaultClassificationFunction(classifier),
      maxPositionEmbeddings: classifier.model.config.max_position_embeddings,
      vocabSize: classifier.model.config.vocab_size,
      typeVocabSize: classifier.model.config.type_vocab_size,
      modelType: classifier.model.config.model_type,
      randomWeights: existsSync(join(config.classifier, "GENERATED.json")),
      provenance: await modelProvenance(config.classifierResolved ?? { dir: config.classifier, source: "path" }, classifier.model),
    };
  }
  ready.warmupTokensPerSecond = warmUp(ready);
  return ready;
}

/**
 * Forward passes before the worker reports ready, so the first requests do not pay for first-touch
 * allocations, and the pool has a first throughput figure: tokens per second of a second pass over
 * two 128-token sequences (the first is slowed by those allocations; the slower model's figure when
 * both are loaded).
 */
function warmUp(ready: WorkerReady): number {
  const length = 128;
  let rate = Infinity;
  for (const [model, info] of [["embedding", ready.embedding], ["classifier", ready.classifier]] as const) {
    if (!info) continue;
    const n = Math.min(length, model === "embedding" ? ready.embedding!.maxLength : ready.classifier!.maxPositionEmbeddings);
    const ids = Int32Array.from({ length: 2 * n }, (_, i) => 1 + (i % Math.max(1, info.vocabSize - 1)));
    const batch: BatchRequest = { type: "batch", id: 0, model, ids, typeIds: new Int32Array(2 * n), starts: Int32Array.from([0, n, 2 * n]), outputs: new Uint8Array(2) };
    compute(batch);
    const started = performance.now();
    compute(batch);
    rate = Math.min(rate, (2 * n) / Math.max(1e-3, (performance.now() - started) / 1000));
  }
  return Number.isFinite(rate) ? rate : 0;
}

function inputsOf(req: BatchRequest): ModelInput[] {
  const n = req.starts.length - 1;
  return Array.from({ length: n }, (_, i) => ({
    inputIds: req.ids.subarray(req.starts[i], req.starts[i + 1]),
    tokenTypeIds: req.typeIds.subarray(req.starts[i], req.starts[i + 1]),
  }));
}

/**
 * Pooled vectors (the encoder's pooling and its Dense modules, or the request's pooling; not
 * normalised: that is per request), token vectors, or per-token explanations of the pooling.
 */
function runEmbedding(model: SentenceEncoder, req: BatchRequest): Float32Array[] {
  const strategies = new Set<PoolingStrategy>([model.pooling]);
  for (const kind of req.outputs) {
    const p = poolingOfOutput(kind);
    if (p !== undefined) strategies.add(p);
  }
  const keep = [...strategies].map((strategy) => forwardOptionsFor({ strategy, layers: model.layers }));
  const out = model.model.forward(inputsOf(req), {
    outputHiddenStates: keep.some((k) => k.outputHiddenStates),
    outputFirstTokenAttention: keep.some((k) => k.outputFirstTokenAttention),
  });
  const layers = model.model.config.num_hidden_layers;
  const pooledBy = new Map<PoolingStrategy, Float32Array[]>();
  return Array.from(req.outputs, (kind, i) => {
    if (kind === OUTPUT_TOKENS) return out.sequence(i).data;
    if (kind === OUTPUT_EXPLAIN) return Float32Array.from(explainPooling(out, i, model.pooling, layers, model.layers).values);
    const strategy = poolingOfOutput(kind) ?? model.pooling;
    let pooled = pooledBy.get(strategy);
    if (!pooled) {
      pooled = model.poolEncoded(out, 0, strategy);
      pooledBy.set(strategy, pooled);
    }
    return model.applyDense(pooled[i], strategy);
  });
}

/** SPLADE vectors, each flattened as [id, value, id, value, ...] (ids are exact in float32 below 2^24). */
function runSparse(model: SparseEncoder, req: BatchRequest): Float32Array[] {
  return model.embedEncoded(inputsOf(req)).map((v) => {
    const flat = new Float32Array(2 * v.indices.length);
    v.indices.forEach((id, k) => {
      flat[2 * k] = id;
      flat[2 * k + 1] = v.values[k];
    });
    return flat;
  });
}

function runClassifier(model: BertForSequenceClassification, req: BatchRequest): Float32Array[] {
  const { logits } = model.forward(inputsOf(req));
  const n = model.numLabels;
  return Array.from({ length: req.starts.length - 1 }, (_, i) => logits.data.subarray(i * n, (i + 1) * n));
}

function compute(req: BatchRequest): Float32Array[] {
  if (req.model === "embedding" && sparseEncoder) return runSparse(sparseEncoder, req);
  if (req.model === "embedding") {
    if (!encoder) throw new Error("no embedding model is loaded");
    return runEmbedding(encoder, req);
  }
  if (!classifier) throw new Error("no classifier is loaded");
  return runClassifier(classifier, req);
}

function run(req: BatchRequest): void {
  if (req.fault && config.testFaults) {
    // The test fault hook: die as a crash would (the thread ends with code 70), spin forever as a
    // forward pass that never returns would (only the engine's watchdog ends it), or fail the batch.
    if (req.fault === "exit") process.exit(70);
    if (req.fault === "hang") for (;;);
    throw new Error("injected test fault");
  }
  const started = performance.now();
  const parts = compute(req);
  const starts = new Int32Array(parts.length + 1);
  parts.forEach((p, i) => (starts[i + 1] = starts[i] + p.length));
  const data = new Float32Array(starts[parts.length]);
  parts.forEach((p, i) => data.set(p, starts[i]));
  const result: BatchResult = { type: "result", id: req.id, data, starts, computeMs: performance.now() - started };
  post(result, [data.buffer as ArrayBuffer, starts.buffer as ArrayBuffer]);
}

port.on("message", (req: BatchRequest) => {
  try {
    run(req);
  } catch (err) {
    post({ type: "failed", id: req.id, message: err instanceof Error ? err.message : String(err) });
  }
});

load().then(
  (ready) => post(ready),
  (err: unknown) => post({ type: "load-failed", message: err instanceof Error ? err.message : String(err) }),
);
