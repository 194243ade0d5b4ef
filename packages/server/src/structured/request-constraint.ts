// A request's structured-output fields -> at most one constraint. Two fields
// that each constrain the output are refused (never one silently preferred).

import type { OutputConstraint } from "@glimpse/runtime-cuda";
import { badRequest } from "../errors.js";
import type { StructuredFields } from "../schemas/structured.js";
import { responseFormatSource } from "./response-format.js";
import type { ConstraintSource } from "./source.js";
import { guidedSources, structuredOutputsSource } from "./vllm-fields.js";

/** Every field that can constrain the output, for the conflict message. */
const ALL_FIELDS = "response_format (json_object, json_schema), structured_outputs, guided_json, guided_regex, guided_choice, guided_grammar, json_prefix, tool_choice (\"required\" or a function)";

/** `extra`: a source the endpoint adds (chat's tool_choice). */
export function requestConstraint(r: StructuredFields, extra: ConstraintSource | null = null): ConstraintSource | null {
  const sources = [
    responseFormatSource(r.response_format),
    structuredOutputsSource(r.structured_outputs),
    ...guidedSources(r),
    jsonPrefixSource(r.json_prefix),
    extra,
  ].filter((s): s is ConstraintSource => s !== null);
  if (sources.length > 1) {
    const [a, b] = sources;
    throw badRequest(b.field, `only one structured-output constraint is allowed per request, got ${a.field} and ${b.field} (one of: ${ALL_FIELDS})`, "conflicting_constraints");
  }
  return sources[0] ?? null;
}

function jsonPrefixSource(before: string | null | undefined): ConstraintSource | null {
  if (before == null) return null;
  const constraint: OutputConstraint = { type: "json_prefix", before };
  return { field: "json_prefix", constraint, keys: { before: "json_prefix" } };
}
