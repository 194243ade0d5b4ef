// OpenAI function calling on /v1/chat/completions: `tools`, `tool_choice`,
// `parallel_tool_calls`, and the tool calls an assistant message carries
// back in a conversation.

import { z } from "zod";
import { NAME, schemaObject } from "./structured.js";

const functionName = z.string({ error: "must be a string" }).regex(NAME, { error: "must be 1 to 64 letters, digits, underscores or dashes" });

export const toolDefinition = z.strictObject({
  type: z.literal("function", { error: "must be \"function\"" }),
  function: z.strictObject({
    name: functionName,
    description: z.string().optional(),
    /** The arguments' JSON Schema; absent: no arguments ({}). */
    parameters: schemaObject.optional(),
    /** Accepted for compatibility; a constrained call always follows the schema. */
    strict: z.boolean().nullish(),
  }),
});

export const toolChoice = z.union([
  z.enum(["none", "auto", "required"]),
  z.strictObject({ type: z.literal("function"), function: z.strictObject({ name: z.string() }) }),
], { error: "must be \"none\", \"auto\", \"required\" or {\"type\": \"function\", \"function\": {\"name\"}}" });

export const toolFields = {
  tools: z.array(toolDefinition, { error: "must be an array of {\"type\": \"function\", \"function\": {...}}" })
    .min(1, { error: "must not be empty (omit it instead)" }).max(128, { error: "must hold at most 128 tools" }).nullish(),
  tool_choice: toolChoice.nullish(),
  /** false: tool_choice "required" makes exactly one call. */
  parallel_tool_calls: z.boolean().nullish(),
};

/** A call in an assistant message of the conversation (as a response's message.tool_calls). */
export const messageToolCall = z.strictObject({
  id: z.string(),
  type: z.literal("function"),
  function: z.strictObject({ name: z.string(), arguments: z.string() }),
});

export type ToolDefinition = z.infer<typeof toolDefinition>;
export type ToolChoice = z.infer<typeof toolChoice>;
export type MessageToolCall = z.infer<typeof messageToolCall>;
