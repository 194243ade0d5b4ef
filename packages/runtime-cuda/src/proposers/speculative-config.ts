// The speculative configuration, with the keys of vLLM's and ArcticInference's
// `--speculative-config`, validated (unknown keys are rejected by name).

import { z } from "zod";
import { GlimpseConfigError } from "../errors.js";

export const METHODS = ["suffix", "ngram", "arctic", "mlp_speculator"] as const;

/** vLLM's default draft length for prompt lookup. */
const NGRAM_DEFAULT_TOKENS = 5;

const schema = z.strictObject({
  method: z.enum(METHODS),
  model: z.string().min(1).optional(),
  num_speculative_tokens: z.number().int().min(1).max(64).optional(),
  // Suffix decoding (ArcticInference names).
  suffix_cache_max_depth: z.number().int().min(1).max(1024).optional(),
  suffix_max_spec_factor: z.number().min(0).max(1e6).optional(),
  suffix_max_spec_offset: z.number().min(-1e6).max(1e6).optional(),
  suffix_min_token_prob: z.number().min(0).max(1).optional(),
  suffix_cache_max_requests: z.number().int().min(-1).optional(),
  suffix_use_tree_spec: z.boolean().optional(),
  enable_suffix_decoding: z.boolean().optional(),
  // Prompt lookup (vLLM names).
  prompt_lookup_min: z.number().int().min(1).max(64).optional(),
  prompt_lookup_max: z.number().int().min(1).max(64).optional(),
});

export type SpeculativeConfigInput = z.input<typeof schema>;

export interface SpeculativeConfig {
  method: (typeof METHODS)[number];
  model?: string;
  /**
   * Most tokens per draft: given, or the method's default (suffix: the tree
   * depth; ngram: 5). Undefined for the Arctic speculators, whose default is
   * the speculator's own n_predict, known once it is loaded.
   */
  numSpeculativeTokens?: number;
  suffixMaxDepth: number;
  suffixMaxSpecFactor: number;
  suffixMaxSpecOffset: number;
  suffixMinTokenProb: number;
  suffixMaxCachedRequests: number;
  suffixUseTreeSpec: boolean;
  enableSuffixDecoding: boolean;
  promptLookupMin: number;
  promptLookupMax: number;
}

// vLLM spells some suffix options differently; accept both.
const ALIASES: Record<string, string> = {
  suffix_decoding_max_tree_depth: "suffix_cache_max_depth",
  suffix_decoding_max_cached_requests: "suffix_cache_max_requests",
  suffix_decoding_max_spec_factor: "suffix_max_spec_factor",
  suffix_decoding_max_spec_offset: "suffix_max_spec_offset",
  suffix_decoding_min_token_prob: "suffix_min_token_prob",
};

export function parseSpeculativeConfig(input: unknown): SpeculativeConfig {
  let raw = input;
  if (typeof raw === "string") {
    try {
      raw = JSON.parse(raw);
    } catch (err) {
      throw new GlimpseConfigError("speculative_config", `not valid JSON: ${(err as Error).message}`);
    }
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    throw new GlimpseConfigError("speculative_config", "must be a JSON object such as {\"method\": \"suffix\"}");
  }
  const renamed: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw)) renamed[ALIASES[k] ?? k] = v;
  const parsed = schema.safeParse(renamed);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    if (issue.code === "unrecognized_keys") {
      throw new GlimpseConfigError(`speculative_config.${issue.keys[0]}`, `unknown key; allowed: ${Object.keys(schema.shape).join(", ")}`);
    }
    const field = `speculative_config.${issue.path.join(".") || "?"}`;
    if (issue.path[0] === "method") {
      throw new GlimpseConfigError(field, `unknown proposer ${JSON.stringify((renamed as { method?: unknown }).method)}; valid methods: ${METHODS.join(", ")}`);
    }
    throw new GlimpseConfigError(field, issue.message);
  }
  const c = parsed.data;
  if ((c.method === "arctic" || c.method === "mlp_speculator") && !c.model) {
    throw new GlimpseConfigError("speculative_config.model", `method "${c.method}" needs "model": the speculator folder`);
  }
  const lookupMin = c.prompt_lookup_min ?? 2;
  const lookupMax = c.prompt_lookup_max ?? Math.max(lookupMin, 5);
  if (lookupMin > lookupMax) {
    throw new GlimpseConfigError("speculative_config.prompt_lookup_min", `must be <= prompt_lookup_max (${lookupMax}), got ${lookupMin}`);
  }
  const suffixMaxDepth = c.suffix_cache_max_depth ?? 64;
  const defaultTokens = c.method === "suffix" ? suffixMaxDepth : c.method === "ngram" ? NGRAM_DEFAULT_TOKENS : undefined;
  return {
    method: c.method,
    model: c.model,
    numSpeculativeTokens: c.num_speculative_tokens ?? defaultTokens,
    suffixMaxDepth,
    suffixMaxSpecFactor: c.suffix_max_spec_factor ?? 1,
    suffixMaxSpecOffset: c.suffix_max_spec_offset ?? 0,
    suffixMinTokenProb: c.suffix_min_token_prob ?? 0.1,
    suffixMaxCachedRequests: c.suffix_cache_max_requests ?? 10000,
    suffixUseTreeSpec: c.suffix_use_tree_spec ?? false,
    enableSuffixDecoding: c.enable_suffix_decoding ?? false,
    promptLookupMin: lookupMin,
    promptLookupMax: lookupMax,
  };
}
