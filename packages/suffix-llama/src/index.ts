// @glimpse/suffix-llama: suffix decoding for node-llama-cpp, as a TokenPredictor.
export { SuffixTokenPredictor } from "./suffix-token-predictor.js";
export { DEFAULT_MAX_CACHED_RESPONSES, DEFAULT_MAX_TOKENS, type SuffixTokenPredictorOptions } from "./options.js";
export { MISSING_NODE_LLAMA_CPP } from "./load-node-llama-cpp.js";
export { SuffixDecodingCache, SuffixInputError } from "@glimpse/suffix-wasm";
