// POST /v1/chat/completions body.

import { z } from "zod";
import { samplingFields } from "./common.js";

const textPart = z.strictObject({ type: z.literal("text"), text: z.string() });

const message = z.strictObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool"]),
  content: z.union([z.string(), z.array(textPart).min(1)], { error: "must be a string or an array of text parts" }),
  name: z.string().optional(),
  tool_call_id: z.string().optional(),
  refusal: z.string().nullish(),
});

export const chatRequest = z.strictObject({
  ...samplingFields,
  messages: z.array(message).min(1, { error: "must contain at least one message" }),
  max_completion_tokens: z.number().int().min(1).nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
  response_format: z
    .discriminatedUnion("type", [
      z.strictObject({ type: z.literal("text") }),
      z.strictObject({ type: z.literal("json_object") }),
    ], { error: "must be \"text\" or \"json_object\" (json_schema is not supported)" })
    .nullish(),
});

export type ChatMessageInput = z.infer<typeof message>;
