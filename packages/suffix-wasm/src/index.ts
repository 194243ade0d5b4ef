// @glimpse/suffix-wasm: suffix-tree speculative decoding in WebAssembly.
// Browser-safe: nothing here uses Node-only APIs (the CLI lives in src/cli/).

export { SuffixDecodingCache, type SuffixDecodingCacheOptions } from "./cache.js";
export { SuffixTree, EMPTY_DRAFT, MAX_TREE_DEPTH, resolveSpeculateOptions } from "./suffix-tree.js";
export type { Draft, SpeculateOptions, ResolvedSpeculateOptions } from "./draft.js";
export type { IntegrityCode, IntegrityFailure, FailedNode } from "./integrity.js";
export {
  SuffixRuntime, createSuffixRuntime, loadSuffixRuntime, defaultRuntime,
  type WasmSource, type SuffixWasmExports,
} from "./runtime.js";
export { SuffixInputError, type RequestId } from "./validate.js";
export {
  simulate, acceptLongestPath, DEFAULT_SIMULATION_CONFIG,
  type TraceRow, type SimulationConfig, type SimulationSummary, type StepRecord,
} from "./simulator.js";
