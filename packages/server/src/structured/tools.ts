// tools + tool_choice -> the constraint of a forced function call.
// - a named function: the output is its arguments, an object valid for its
//   `parameters` schema;
// - "required": the output is `[{"name": ..., "parameters": {...}}, ...]`
//   (as vLLM constrains it), each item one of the tools, at least one
//   (exactly one with parallel_tool_calls: false).
// "auto" and "none" (and no tool_choice) constrain nothing: the answer is text.

import { badRequest } from "../errors.js";
import type { ToolChoice, ToolDefinition } from "../schemas/tools.js";
import type { ConstraintSource } from "./source.js";

export type ToolMode = { kind: "named"; name: string } | { kind: "required" };

export interface ToolPlan {
  mode: ToolMode;
  /** The output's constraint (tool_choice is the field that set it). */
  source: ConstraintSource;
  /** Each tool's parameters on their own, compiled first so that a bad one is named by its index. */
  checks: ConstraintSource[];
}

interface ToolFields {
  tools?: ToolDefinition[] | null;
  tool_choice?: ToolChoice | null;
  parallel_tool_calls?: boolean | null;
}

/** A function without `parameters` takes none: its arguments are `{}`. */
const NO_PARAMETERS = { type: "object", properties: {}, additionalProperties: false };

export function toolPlan(r: ToolFields): ToolPlan | null {
  const tools = r.tools ?? [];
  checkNames(tools);
  const choice = r.tool_choice;
  if (choice == null || choice === "auto" || choice === "none") return null;
  if (tools.length === 0) throw badRequest("tool_choice", "needs `tools` (the functions to choose from)");
  if (choice === "required") return requiredPlan(tools, r.parallel_tool_calls !== false);
  const i = tools.findIndex((t) => t.function.name === choice.function.name);
  if (i < 0) {
    throw badRequest("tool_choice", `names the function '${choice.function.name}', which is not in tools (${tools.map((t) => t.function.name).join(", ")})`);
  }
  const field = `tools[${i}].function.parameters`;
  return {
    mode: { kind: "named", name: choice.function.name },
    source: { field: "tool_choice", constraint: { type: "json_schema", schema: tools[i].function.parameters ?? NO_PARAMETERS }, keys: { schema: field } },
    checks: [],
  };
}

function checkNames(tools: readonly ToolDefinition[]): void {
  const seen = new Set<string>();
  tools.forEach((t, i) => {
    if (seen.has(t.function.name)) throw badRequest(`tools[${i}].function.name`, `'${t.function.name}' is defined twice; function names must be unique`);
    seen.add(t.function.name);
  });
}

function requiredPlan(tools: readonly ToolDefinition[], parallel: boolean): ToolPlan {
  const checks: ConstraintSource[] = [];
  const defs: Record<string, unknown> = {};
  const branches = tools.map((t, i) => {
    const field = `tools[${i}].function.parameters`;
    let parameters: Record<string, unknown> = NO_PARAMETERS;
    if (t.function.parameters) {
      checks.push({ field, constraint: { type: "json_schema", schema: t.function.parameters }, keys: { schema: field } });
      parameters = hoistDefs(t.function.parameters, defs, field);
    }
    return {
      type: "object",
      properties: { name: { type: "string", enum: [t.function.name] }, parameters },
      required: ["name", "parameters"],
      additionalProperties: false,
    };
  });
  const schema: Record<string, unknown> = { type: "array", minItems: 1, ...(parallel ? {} : { maxItems: 1 }), items: { anyOf: branches } };
  if (Object.keys(defs).length > 0) schema.$defs = defs;
  return { mode: { kind: "required" }, source: { field: "tool_choice", constraint: { type: "json_schema", schema }, keys: { schema: "tools" } }, checks };
}

/**
 * A tool's `$defs` move to the combined schema's root, where its
 * `#/$defs/...` references still find them; two tools may share a
 * definition only if it is the same.
 */
function hoistDefs(parameters: Record<string, unknown>, defs: Record<string, unknown>, field: string): Record<string, unknown> {
  const own = parameters.$defs;
  if (own == null || typeof own !== "object") return parameters;
  const { $defs: _, ...rest } = parameters;
  for (const [name, def] of Object.entries(own as Record<string, unknown>)) {
    if (name in defs && JSON.stringify(defs[name]) !== JSON.stringify(def)) {
      throw badRequest(`${field}.$defs.${name}`, "another tool defines it differently; tools that share a $defs name must share its definition");
    }
    defs[name] = def;
  }
  return rest;
}
