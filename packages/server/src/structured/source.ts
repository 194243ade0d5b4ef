// A structured-output constraint and the request field it came from, so that
// errors name what the client sent ("guided_regex"), not the engine's option.

import type { OutputConstraint } from "@glimpse/runtime-cuda";

export interface ConstraintSource {
  /** The request field that set the constraint ("response_format", "structured_outputs.regex", "tool_choice"...). */
  field: string;
  constraint: OutputConstraint;
  /**
   * The request field behind each key of the constraint, for the engine's
   * errors on `constraint.<key>` (schema -> "response_format.json_schema.schema").
   * A key not listed is reported as `field`.
   */
  keys?: Readonly<Record<string, string>>;
}

/** The four constraint kinds vLLM's fields name, and the constraint each becomes. */
export type VllmKind = "json" | "regex" | "choice" | "grammar";

export function vllmSource(kind: VllmKind, value: unknown, field: string): ConstraintSource {
  switch (kind) {
    case "json":
      return { field, constraint: { type: "json_schema", schema: value as string | Record<string, unknown> }, keys: { schema: field } };
    case "regex":
      return { field, constraint: { type: "regex", pattern: value as string }, keys: { pattern: field } };
    case "choice":
      return { field, constraint: { type: "choice", choices: value as string[] }, keys: { choices: field } };
    case "grammar":
      return { field, constraint: { type: "grammar", grammar: value as string }, keys: { grammar: field } };
  }
}
