// The speculative configs the embedded model supports (its speculators ship
// in the model folder), by the names lossless tests report.
import type { SpeculativeConfigInput } from "../src/index.js";

export const EMBEDDED_PROPOSERS: Record<string, SpeculativeConfigInput> = {
  "suffix (path)": { method: "suffix" },
  "suffix (tree)": { method: "suffix", suffix_use_tree_spec: true },
  ngram: { method: "ngram", num_speculative_tokens: 5 },
  mlp: { method: "arctic", model: "speculator-mlp", num_speculative_tokens: 3 },
  lstm: { method: "arctic", model: "speculator-lstm", num_speculative_tokens: 3 },
  hybrid: { method: "arctic", model: "speculator-lstm", num_speculative_tokens: 3, enable_suffix_decoding: true },
};
