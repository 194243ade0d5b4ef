// Request fields -> the runtime's GenerateOptions, with the HTTP API's
// defaults (OpenAI's temperature 1, not the runtime's greedy 0).

import type { GenerateOptions } from "@glimpse/runtime-cuda";
import { stopList } from "./schemas/common.js";

interface SamplingFields {
  temperature?: number | null;
  top_p?: number | null;
  top_k?: number | null;
  seed?: number | null;
  stop?: string | string[] | null;
  stop_token_ids?: number[] | null;
  ignore_eos?: boolean;
  speculative?: boolean;
}

const DEFAULT_TEMPERATURE = 1;

/** `topLogprobs`: alternatives to report per token (OpenAI's completions `logprobs: k`, chat `top_logprobs: k`). */
export function samplingOptions(r: SamplingFields, maxTokens: number, logprobs: boolean, topLogprobs = 0): GenerateOptions & { seed?: number } {
  return {
    maxTokens,
    temperature: r.temperature ?? DEFAULT_TEMPERATURE,
    topP: r.top_p ?? 1,
    topK: r.top_k == null || r.top_k < 0 ? 0 : r.top_k,
    seed: r.seed ?? undefined,
    stop: stopList(r.stop),
    stopTokenIds: r.stop_token_ids ?? undefined,
    ignoreEos: r.ignore_eos ?? false,
    logprobs,
    ...(logprobs && topLogprobs > 0 ? { topLogprobs } : {}),
    speculate: r.speculative ?? true,
  };
}
