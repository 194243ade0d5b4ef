// POST /v1/chat/completions body.

import { z } from "zod";
import { samplingFields } from "./common.js";
import { structuredFields } from "./structured.js";
import { messageToolCall, toolFields } from "./tools.js";

const textPart = z.strictObject({ type: z.literal("text"), text: z.string() });

const message = z.strictObject({
  role: z.enum(["system", "developer", "user", "assistant", "tool"]),
  content: z.union([z.string(), z.array(textPart).min(1)], { error: "must be a string or an array of text parts" }).nullish(),
  name: z.string().optional(),
  tool_call_id: z.string().optional(),
  refusal: z.string().nullish(),
  /** An earlier answer's calls (an assistant message), sent back with the tools' results. */
  tool_calls: z.array(messageToolCall).nullish(),
}).superRefine((m, ctx) => {
  if (m.content == null && !(m.role === "assistant" && m.tool_calls?.length)) {
    ctx.addIssue({ code: "custom", path: ["content"], message: "required (only an assistant message with tool_calls may leave it out)" });
  }
});

export const chatRequest = z.strictObject({
  ...samplingFields,
  ...structuredFields,
  ...toolFields,
  messages: z.array(message).min(1, { error: "must contain at least one message" }),
  max_completion_tokens: z.number().int().min(1).nullish(),
  logprobs: z.boolean().nullish(),
  top_logprobs: z.number().int().min(0).max(20).nullish(),
});

export type ChatRequest = z.infer<typeof chatRequest>;
export type ChatRequestMessage = z.infer<typeof message>;
type TextPart = z.infer<typeof textPart>;

/** A message as the chat template gets it: its content as text (tool calls written out: see structured/tool-messages.ts). */
export interface ChatMessageInput {
  role: ChatRequestMessage["role"];
  content: string | TextPart[];
  name?: string;
  tool_call_id?: string;
}
