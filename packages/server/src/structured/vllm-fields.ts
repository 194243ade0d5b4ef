// vLLM's structured-output fields -> constraints: the `structured_outputs`
// object (exactly one of json, regex, choice, grammar, json_object) and the
// older top-level guided_json, guided_regex, guided_choice, guided_grammar.

import { badRequest } from "../errors.js";
import type { StructuredFields } from "../schemas/structured.js";
import { vllmSource, type ConstraintSource, type VllmKind } from "./source.js";

const KINDS = ["json", "regex", "choice", "grammar", "json_object"] as const;

export function structuredOutputsSource(so: StructuredFields["structured_outputs"]): ConstraintSource | null {
  if (so == null) return null;
  // json_object: false asks for nothing, as if absent.
  const set = KINDS.filter((k) => so[k] != null && so[k] !== false);
  if (set.length === 0) throw badRequest("structured_outputs", "set one of json, regex, choice, grammar or json_object");
  if (set.length > 1) {
    const names = set.map((k) => `structured_outputs.${k}`);
    throw badRequest(names[1], `only one structured-output constraint is allowed per request; got ${names.join(" and ")}`);
  }
  const kind = set[0];
  const field = `structured_outputs.${kind}`;
  return kind === "json_object" ? { field, constraint: { type: "json_object" } } : vllmSource(kind, so[kind], field);
}

const GUIDED: readonly [keyof StructuredFields, VllmKind][] = [
  ["guided_json", "json"],
  ["guided_regex", "regex"],
  ["guided_choice", "choice"],
  ["guided_grammar", "grammar"],
];

/** One source per guided_* field set (two of them are two constraints, refused by the caller). */
export function guidedSources(r: StructuredFields): ConstraintSource[] {
  return GUIDED.filter(([field]) => r[field] != null).map(([field, kind]) => vllmSource(kind, r[field], field));
}
