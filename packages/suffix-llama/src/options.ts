// The predictor's options: which cache (shared, or one of its own) and how long its drafts may be.
// Every value is checked here, so a bad one fails at construction with the field's name.

import {
  MAX_TREE_DEPTH, SuffixDecodingCache, SuffixInputError, resolveSpeculateOptions, type ResolvedSpeculateOptions,
} from "@glimpse/suffix-wasm";

export interface SuffixTokenPredictorOptions {
  /**
   * A cache shared by several predictors (one per context sequence): every generation any of them
   * finishes is drafted from by all. Without it the predictor makes a cache of its own from
   * `maxTreeDepth` and `maxCachedResponses`, and frees it when disposed; a shared cache is left to its owner.
   */
  cache?: SuffixDecodingCache;
  /** Own cache only: deepest suffix indexed, and the most context tokens matched. Default 64. */
  maxTreeDepth?: number;
  /** Own cache only: responses kept for drafting, oldest evicted first (-1 unlimited, 0 none). Default 1000. */
  maxCachedResponses?: number;
  /**
   * Most tokens per draft (0 turns drafting off). Default 1: node-llama-cpp 3.22.1 keeps at most one predicted
   * token per evaluation (the rest of a draft is evaluated, then erased), so longer drafts only cost time.
   */
  maxTokens?: number;
  /** A draft is at most `floor(matchLength * maxSpecFactor + maxSpecOffset)` tokens long. Default 1. */
  maxSpecFactor?: number;
  /** See `maxSpecFactor`. Default 0. */
  maxSpecOffset?: number;
  /** A draft stops at the first token whose estimated probability is below this (0-1). Default 0.1. */
  minTokenProb?: number;
}

export const DEFAULT_MAX_TOKENS = 1;
export const DEFAULT_MAX_CACHED_RESPONSES = 1000;

export interface ResolvedOptions {
  cache: SuffixDecodingCache;
  ownsCache: boolean;
  draft: ResolvedSpeculateOptions;
}

const KNOWN = new Set(["cache", "maxTreeDepth", "maxCachedResponses", "maxTokens", "maxSpecFactor", "maxSpecOffset", "minTokenProb"]);

export function resolveOptions(options: SuffixTokenPredictorOptions | undefined): ResolvedOptions {
  const o = options ?? {};
  if (typeof o !== "object") throw new SuffixInputError("options", `must be an object, got ${typeof o}`);
  for (const key of Object.keys(o)) {
    if (!KNOWN.has(key)) throw new SuffixInputError(key, `unknown option; allowed: ${[...KNOWN].join(", ")}`);
  }
  const shared = o.cache;
  if (shared !== undefined) {
    if (!(shared instanceof SuffixDecodingCache)) {
      throw new SuffixInputError("cache", "must be a SuffixDecodingCache from @glimpse/suffix-wasm");
    }
    for (const key of ["maxTreeDepth", "maxCachedResponses"] as const) {
      if (o[key] !== undefined) throw new SuffixInputError(key, "configures a cache of the predictor's own; set it on the shared `cache` instead");
    }
  }
  const maxTreeDepth = shared?.maxTreeDepth ?? checkInt("maxTreeDepth", o.maxTreeDepth ?? 64, 1, MAX_TREE_DEPTH);
  const maxCachedRequests = checkInt("maxCachedResponses", o.maxCachedResponses ?? DEFAULT_MAX_CACHED_RESPONSES, -1, 2 ** 31 - 1);
  const draft = resolveSpeculateOptions({
    maxSpecTokens: checkInt("maxTokens", o.maxTokens ?? DEFAULT_MAX_TOKENS, 0, MAX_TREE_DEPTH),
    maxSpecFactor: o.maxSpecFactor,
    maxSpecOffset: o.maxSpecOffset,
    minTokenProb: o.minTokenProb,
    useTreeSpec: false, // llama.cpp verifies one chain per sequence
  }, maxTreeDepth);
  // Made only once every option passed, so a bad one leaves nothing to free.
  const cache = shared ?? new SuffixDecodingCache({ maxTreeDepth, maxCachedRequests });
  const ownsCache = shared === undefined;
  return { cache, ownsCache, draft };
}

function checkInt(field: string, value: unknown, min: number, max: number): number {
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    throw new SuffixInputError(field, `must be an integer in [${min}, ${max}], got ${String(value)}`);
  }
  return value;
}
