// Public API of bert-ts in a web page: the Node API (src/index.ts) less what needs a file system,
// the native addon or a server, plus the browser's model sources and the Worker API.
// The bundle (scripts/build-browser.mjs) swaps src/io/host.ts, hub.ts, file-digest.ts and
// src/backend/index.ts for their src/browser/ counterparts.
export { Tensor } from "./tensor/tensor.js";
export type { Backend, Activation, LinearParams, PositionBias } from "./backend/backend.js";
export { ReferenceBackend } from "./backend/reference.js";
export { getBackend, useBackend, loadWasmBackend, defaultBackendReady, backendNotice, type WasmLoadOptions } from "./browser/backend.js";
export { WasmBackend } from "./backend/wasm.js";
export type { Encoding, ModelInput } from "./tokenizers/encoding.js";
export { resolveModel, ModelNotFoundError } from "./browser/hub.js";
export type { ResolveOptions, ResolvedModel } from "./io/hub.js";
export { mountModel, CACHE_NAME, type MountOptions } from "./browser/model-source.js";
export type { ModelLocation, ModelFileObjects, ModelFileMap, DownloadProgress, NamedBlob } from "./io/model-source.js";
export { WeightStore, loadWeights, WeightFileError } from "./io/weights.js";
export { ModelFileError } from "./io/model-files.js";
export type { WeightDType, WeightTensor } from "./io/weights.js";
export { readSafetensors, parseSafetensors } from "./io/safetensors.js";
export { pipeline, PIPELINE_TASKS } from "./pipelines/index.js";
export type { PipelineTask, PipelinesByTask, PipelineOptions, TextClassificationPipeline, TextClassificationInput, TextClassificationOptions, TextClassificationResult, ClassificationFunction, LabelScore, NextSentencePipeline, SentencePair, FillMaskPipeline, FillMaskOptions, FillMaskPrediction, FillMaskResult, MaskPredictions, TextRankingPipeline, TextRankingOptions, PairScore, RankedPassage, RerankActivation } from "./pipelines/index.js";
export { BertForSequenceClassification, BertForNextSentencePrediction, BertForMaskedLM, BertForTokenClassification, BertForQuestionAnswering, HeadWeightsError, loadForTask, loadFromArchitectures, headForModel, tasksForConfig } from "./heads/index.js";
export { BertModel, type ForwardOptions, type LoadOptions } from "./models/bert/model.js";
export { EncoderOutput } from "./models/output.js";
export { parseBertConfig, ConfigError, type BertConfig } from "./config/bert-config.js";
export { pool, type PoolingOptions } from "./pooling/pool.js";
export { POOLING_STRATEGIES, parsePoolingStrategy, type PoolingStrategy } from "./pooling/strategies.js";
export { parseLayerSelection, type LayerSelection } from "./pooling/layers.js";
export { cosineSimilarity, dot, euclideanDistance, l2NormalizeInPlace, similarity, type SimilarityFunction } from "./pooling/similarity.js";
export { SentenceEncoder, quantizeEmbeddings, type SentenceEncoderOptions, type EmbedOptions } from "./pipelines/sentence-encoder.js";
export { InvalidInputError, NonFiniteOutputError } from "./pipelines/input-check.js";
export { semanticSearch, type SearchHit, type SearchOptions } from "./pipelines/semantic-search.js";
export { SparseEncoder } from "./pipelines/sparse-encoder.js";
export { Tokenizer, AutoTokenizer, BertTokenizer, RobertaTokenizer, SentencePieceTokenizer, loadTokenizer } from "./tokenizers/index.js";
export { VERSION } from "./version.js";
export { WorkerSentenceEncoder, type WorkerLoadOptions, type WorkerEmbedCallOptions } from "./browser/worker-client.js";
