// OpenAI's response_format -> a constraint: "text" none, "json_object" any
// JSON object, "json_schema" its schema.

import { badRequest } from "../errors.js";
import type { ChatRequestMessage } from "../schemas/chat.js";
import type { StructuredFields } from "../schemas/structured.js";
import type { ConstraintSource } from "./source.js";

export function responseFormatSource(format: StructuredFields["response_format"]): ConstraintSource | null {
  switch (format?.type) {
    case undefined:
    case "text":
      return null;
    case "json_object":
      return { field: "response_format", constraint: { type: "json_object" } };
    case "json_schema":
      return {
        field: "response_format",
        constraint: { type: "json_schema", schema: format.json_schema.schema },
        keys: { schema: "response_format.json_schema.schema" },
      };
  }
}

/** OpenAI's rule for JSON mode in chat: the messages must ask for JSON, or models write whitespace until the limit. */
export function requireJsonMention(messages: readonly ChatRequestMessage[]): void {
  if (!messages.some((m) => JSON.stringify(m.content ?? "").toLowerCase().includes("json"))) {
    throw badRequest("messages", "must contain the word 'json' in some form to use response_format of type 'json_object'");
  }
}
