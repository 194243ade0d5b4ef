// @glimpse/runtime-cuda: speculative decoding on onnxruntime-node, or on llama.cpp (node-llama-cpp) for GGUF files.

export { Engine, findModelFile, type EngineOptions } from "./engine.js";
export { BACKEND_CHOICES, type BackendChoice } from "./backend/choose-backend.js";
export type { BackendName, DecoderBackend, LogitsNeed } from "./backend/decoder-backend.js";
export { RemoteEngine } from "./worker/remote-engine.js";
export { DEFAULT_DOCUMENT_LIMITS, type DocumentLimits } from "./documents/ingestor.js";
export { EngineUnavailableError } from "./worker/worker-failure.js";
export type { InferenceEngine, GenerationStream } from "./inference-engine.js";
export type { GenerateOptions, GenerationChunk, GenerationResult, FinishReason } from "./scheduler/request.js";
export {
  checkConstraint, CONSTRAINT_TYPES, JSON_DOCUMENT_GRAMMAR, type OutputConstraint, type ConstraintType, type CheckedConstraint,
} from "./grammar/constraint.js";
export { SUPPORTED_FORMATS } from "./grammar/schema-keywords.js";
export { GlimpseConfigError, ModelLoadError, GenerationAbortedError, type ErrorData } from "./errors.js";
export {
  type SpecMetrics, type SpecDecodingStats, MetricsAggregator, meanAcceptanceLength, meanTokensPerStep, emptyMetrics,
} from "./metrics.js";
export { chooseProvider, CUDA_INSTALL_COMMAND, DEVICES, type Device, type ProviderChoice } from "./model/session.js";
export { TextTokenizer, type ChatMessage } from "./model/tokenizer.js";
export { readModelConfig, type ModelConfig } from "./model/model-config.js";
export { MODEL_DTYPES, DTYPE_SUFFIX, dtypesInFolder, type ModelDtype } from "./model/dtype.js";
export {
  parseSpeculativeConfig, METHODS, SuffixProposer, NgramProposer, ArcticProposer, HybridProposer,
  type SpeculativeConfig, type SpeculativeConfigInput, type Proposer, type Proposal, type ProposeInput, type SuffixDocuments, type SuffixState,
} from "./proposers/index.js";
export { rejectionSample, type AcceptRule } from "./sampling/acceptance.js";
export { RejectionSampler, type SamplingRequest, type TopLogprob, type Verdict } from "./sampling/rejection-sampler.js";
export { AdaptivePolicy, type DraftPlan, type PolicyOptions } from "./adaptive/policy.js";
export { probabilities, sample, argmax, type SamplingParams } from "./sampling/distribution.js";
export { Rng, uniformAt } from "./sampling/rng.js";
export { replayTrace, replayRows, type ReplayOptions, type ReplaySummary, type ReplayRunStats } from "./replay/replay.js";
export { readTrace, parseTrace, checkTraceVocabulary, type TraceRow } from "./replay/trace.js";
export { type FimTokens } from "./model/tokenizer.js";
