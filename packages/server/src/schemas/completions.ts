// POST /v1/completions body: prompt as a string, strings, token ids or lists of token ids.

import { z } from "zod";
import { samplingFields } from "./common.js";
import { structuredFields } from "./structured.js";

const tokenIds = z.array(z.number().int().min(0)).min(1);

export const completionRequest = z.strictObject({
  ...samplingFields,
  ...structuredFields,
  prompt: z.union([z.string(), z.array(z.string()).min(1).max(64), tokenIds, z.array(tokenIds).min(1).max(64)], {
    error: (issue) => (issue.input === undefined ? "required" : "must be a string, an array of strings, an array of token ids, or an array of arrays of token ids"),
  }),
  /** Text after the insertion point: fill-in-the-middle. */
  suffix: z.string().nullish(),
  echo: z.boolean().nullish(),
  /** Number of most likely tokens to report per position (only the chosen token is reported). */
  logprobs: z.number().int().min(0).max(20).nullish(),
  best_of: z.number().int().min(1).max(16).nullish(),
});
