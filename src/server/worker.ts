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
import { needsHiddenStates, pool } from "../pooling/pool.js";
import type { ModelInput } from "../tokenizers/encoding.js";
import type { PoolingStrategy } from "../pooling/strategies.js";
import { OUTPUT_TOKENS, poolingOfOutput, type BatchRequest, type BatchResult, type WorkerConfig, type WorkerMessage, type WorkerReady } from "./protocol.js";

const port = parentPort;
if (!port) throw new Error("src/server/worker.ts runs as a worker thread");
const config = workerData as WorkerConfig;

let encoder: SentenceEncoder | undefined;
let classifier: BertForSequenceClassification | undefined;

function post(message: WorkerMessage, transfer: ArrayBuffer[] = []): void {
  port!.postMessage(message, transfer);
}

async function load(): Promise<WorkerReady> {
  const ready: WorkerReady = { type: "ready" };
  if (config.embedding) {
    encoder = await SentenceEncoder.load(config.embedding);
    ready.embedding = {
      dir: encoder.modelDir,
      pooling: encoder.pooling,
      normalize: encoder.normalize,
      maxLength: encoder.maxLength,
      dimension: encoder.dimension,
      hiddenSize: encoder.model.config.hidden_size,
      hasPooler: encoder.model.hasPooler,
      vocabSize: encoder.model.config.vocab_size,
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
      modelType: classifier.model.config.model_type,
      randomWeights: existsSync(join(config.classifier, "GENERATED.json")),
      provenance: await modelProvenance({ dir: config.classifier, source: "path" }, classifier.model),
    };
  }
  return ready;
}

function inputsOf(req: BatchRequest): ModelInput[] {
  const n = req.starts.length - 1;
  return Array.from({ length: n }, (_, i) => ({
    inputIds: req.ids.subarray(req.starts[i], req.starts[i + 1]),
    tokenTypeIds: req.typeIds.subarray(req.starts[i], req.starts[i + 1]),
  }));
}

/** Pooled vectors (the encoder's pooling or the request's; not normalised: that is per request) or token vectors. */
function runEmbedding(model: SentenceEncoder, req: BatchRequest): Float32Array[] {
  const out = model.model.forward(inputsOf(req), { outputHiddenStates: needsHiddenStates({ strategy: model.pooling, layers: model.layers }) });
  const pooledBy = new Map<PoolingStrategy, Float32Array[]>();
  return Array.from(req.outputs, (kind, i) => {
    if (kind === OUTPUT_TOKENS) return out.sequence(i).data;
    const strategy = poolingOfOutput(kind) ?? model.pooling;
    let pooled = pooledBy.get(strategy);
    if (!pooled) {
      pooled = pool(out, { strategy, layers: model.layers, normalize: false }, model.model.config.num_hidden_layers);
      pooledBy.set(strategy, pooled);
    }
    return pooled[i];
  });
}

function runClassifier(model: BertForSequenceClassification, req: BatchRequest): Float32Array[] {
  const { logits } = model.forward(inputsOf(req));
  const n = model.numLabels;
  return Array.from({ length: req.starts.length - 1 }, (_, i) => logits.data.subarray(i * n, (i + 1) * n));
}

function run(req: BatchRequest): void {
  const started = performance.now();
  let parts: Float32Array[];
  if (req.model === "embedding") {
    if (!encoder) throw new Error("no embedding model is loaded");
    parts = runEmbedding(encoder, req);
  } else {
    if (!classifier) throw new Error("no classifier is loaded");
    parts = runClassifier(classifier, req);
  }
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
