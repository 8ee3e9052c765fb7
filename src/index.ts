// Public API of bert-ts. Only re-exports live here.
export { Tensor } from "./tensor/tensor.js";
export type { Backend, Activation, LinearParams } from "./backend/backend.js";
export { getBackend } from "./backend/index.js";
export { ReferenceBackend } from "./backend/reference.js";
export type { Encoding, ModelInput } from "./tokenizers/encoding.js";
export { resolveModel, ModelNotFoundError } from "./io/hub.js";
export type { ResolveOptions, ResolvedModel, LookedIn } from "./io/hub.js";
export { WeightStore, loadWeights, WeightFileError } from "./io/weights.js";
export type { WeightDType, WeightTensor } from "./io/weights.js";
export { readSafetensors } from "./io/safetensors.js";
export { readTorchCheckpoint } from "./io/torch-checkpoint.js";
export { pipeline, PIPELINE_TASKS } from "./pipelines/index.js";
export type { PipelineTask, PipelinesByTask, PipelineOptions, TextClassificationPipeline, TextClassificationInput, TextClassificationOptions, TextClassificationResult, ClassificationFunction, LabelScore, NextSentencePipeline, SentencePair, FillMaskPipeline, FillMaskOptions, FillMaskPrediction, FillMaskResult, MaskPredictions } from "./pipelines/index.js";
export { BertForSequenceClassification, BertForNextSentencePrediction, BertForMaskedLM, HeadWeightsError, loadForTask, loadFromArchitectures, headForModel, tasksForConfig } from "./heads/index.js";
export type { HeadTask, HeadsByTask, LoadedHead, ProblemType, SequenceClassifierOutput, NextSentenceOutput, NextSentenceResult, MaskedLMOptions, MaskedLMOutput } from "./heads/index.js";
