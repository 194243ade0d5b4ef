// Schemas and prompts the structured-output tests share.
import { prompts } from "./prompts.js";

/** Schemas whose every value is bounded: greedy outputs end by themselves. */
export const SCHEMAS: Record<string, Record<string, unknown>> = {
  person: { type: "object", properties: { name: { type: "string", maxLength: 10 }, age: { type: "integer", minimum: 0, maximum: 150 } }, required: ["name", "age"] },
  tagged: {
    type: "object",
    properties: { id: { type: "integer", minimum: 0, maximum: 9999 }, tags: { type: "array", items: { type: "string", maxLength: 6 }, minItems: 1, maxItems: 3 }, active: { type: "boolean" } },
    required: ["id", "tags", "active"],
  },
  status: {
    type: "object",
    properties: { status: { enum: ["ok", "error", "pending"] }, code: { type: "integer", minimum: 100, maximum: 599 }, detail: { anyOf: [{ type: "string", maxLength: 8 }, { type: "null" }] } },
    required: ["status", "code", "detail"],
  },
  points: { type: "array", items: { type: "object", properties: { x: { type: "integer", minimum: -9, maximum: 9 }, y: { type: "integer", minimum: -9, maximum: 9 } }, required: ["x", "y"] }, minItems: 2, maxItems: 2 },
};

export const PROMPTS = ["const user = ", prompts(1).find((p) => p.kind === "json")!.text, "// the response, as JSON:\n"];
