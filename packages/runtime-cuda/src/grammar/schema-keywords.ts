// JSON Schema keywords XGrammar 0.1.27 does not enforce. It compiles a schema
// that uses them without a word and lets output through that breaks them, so
// such a schema is refused up front, naming the keyword and where it is:
// never a silent fallback to looser output. Annotations (title,
// description, default, examples...) and keywords it enforces pass.

import { GlimpseConfigError } from "../errors.js";

/** Keywords compiled as if absent (checked against the grammars XGrammar 0.1.27 makes with and without each). */
const IGNORED: Record<string, string> = {
  not: "negation",
  if: "conditionals",
  then: "conditionals",
  else: "conditionals",
  dependentRequired: "dependencies between properties",
  dependentSchemas: "dependencies between properties",
  dependencies: "dependencies between properties",
  contains: "array containment",
  minContains: "array containment",
  maxContains: "array containment",
  $dynamicRef: "dynamic references",
  $recursiveRef: "recursive references",
};

/** String formats XGrammar enforces; others would be plain strings. */
export const SUPPORTED_FORMATS = [
  "date-time", "date", "time", "duration", "email", "hostname", "ipv4", "ipv6", "uri", "uri-reference", "uri-template", "uuid",
  "json-pointer", "relative-json-pointer",
];

/** Keywords whose value is one schema, a map of schemas, or a list of schemas. */
const ONE = ["items", "additionalProperties", "unevaluatedProperties", "propertyNames", "additionalItems"];
const MAP = ["properties", "patternProperties", "$defs", "definitions"];
const LIST = ["prefixItems", "anyOf", "oneOf", "allOf"];

/** Throws a GlimpseConfigError (field `field`) at the first keyword XGrammar would not enforce. */
export function checkSchemaKeywords(schema: unknown, field: string, path = "#"): void {
  if (typeof schema === "boolean") return;
  if (schema === null || typeof schema !== "object" || Array.isArray(schema)) {
    throw new GlimpseConfigError(field, `the schema at ${path} must be an object or a boolean, got ${JSON.stringify(schema)}`);
  }
  const s = schema as Record<string, unknown>;
  const refuse = (what: string) => {
    throw new GlimpseConfigError(field, `${what} at ${path} is not supported by structured outputs (XGrammar would not enforce it)`);
  };
  for (const key of Object.keys(s)) {
    if (key in IGNORED) refuse(`keyword "${key}" (${IGNORED[key]})`);
  }
  if (s.uniqueItems === true) refuse('keyword "uniqueItems"');
  if (s.unevaluatedItems !== undefined && s.unevaluatedItems !== false) refuse('keyword "unevaluatedItems" other than false');
  if (typeof s.format === "string" && (s.type === "string" || (Array.isArray(s.type) && s.type.includes("string"))) && !SUPPORTED_FORMATS.includes(s.format)) {
    refuse(`format "${s.format}" (supported: ${SUPPORTED_FORMATS.join(", ")})`);
  }
  for (const key of ONE) if (s[key] !== undefined && !Array.isArray(s[key])) checkSchemaKeywords(s[key], field, `${path}/${key}`);
  for (const key of MAP) {
    const m = s[key];
    if (m && typeof m === "object" && !Array.isArray(m)) for (const [name, v] of Object.entries(m)) checkSchemaKeywords(v, field, `${path}/${key}/${pointerToken(name)}`);
  }
  for (const key of LIST) {
    const l = s[key];
    if (Array.isArray(l)) l.forEach((v, i) => checkSchemaKeywords(v, field, `${path}/${key}/${i}`));
  }
}

/** A name as a JSON Pointer token ("~" and "/" escaped). */
function pointerToken(name: string): string {
  return name.replace(/~/g, "~0").replace(/\//g, "~1");
}
