// Request fields shared by /v1/completions and /v1/chat/completions, with
// OpenAI's ranges and defaults (temperature defaults to 1 over HTTP, as in
// OpenAI and vLLM; the runtime's own default is greedy).

import { z } from "zod";

const MAX_STOP = 16;

export const samplingFields = {
  model: z.string().min(1).optional(),
  max_tokens: z.number().int().min(1).nullish(),
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().gt(0).max(1).nullish(),
  /** vLLM extra: -1 or 0 samples among all tokens. */
  top_k: z.number().int().min(-1).nullish(),
  seed: z.number().int().min(-(2 ** 53)).max(2 ** 53).nullish(),
  stop: z.union([z.string().min(1), z.array(z.string().min(1)).max(MAX_STOP)], { error: `must be a non-empty string or an array of at most ${MAX_STOP} non-empty strings` }).nullish(),
  /** vLLM extras. */
  stop_token_ids: z.array(z.number().int().min(0)).max(MAX_STOP).nullish(),
  ignore_eos: z.boolean().optional(),
  n: z.number().int().min(1).max(16).nullish(),
  stream: z.boolean().nullish(),
  stream_options: z.strictObject({ include_usage: z.boolean().optional() }).nullish(),
  user: z.string().max(256).optional(),
  // Penalties are not implemented: 0 (what SDKs send by default) is accepted, anything else refused.
  presence_penalty: z.literal(0, { error: "only 0 is supported" }).nullish(),
  frequency_penalty: z.literal(0, { error: "only 0 is supported" }).nullish(),
  /** Glimpse extra: false decodes this request without speculation (for comparisons). */
  speculative: z.boolean().optional(),
};

export function stopList(stop: string | string[] | null | undefined): string[] | undefined {
  if (stop == null) return undefined;
  return typeof stop === "string" ? [stop] : stop;
}
