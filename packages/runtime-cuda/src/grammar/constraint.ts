// Output constraints (structured outputs): what a request may ask its output
// to be, checked, and put in the canonical form the compiler takes and the
// compiled-grammar cache is keyed by. Pure JavaScript: front ends (a
// RemoteEngine, the server) check constraints without loading XGrammar.

import { GlimpseConfigError } from "../errors.js";
import { checkSchemaKeywords } from "./schema-keywords.js";

export type OutputConstraint =
  /** Any JSON object. */
  | { type: "json_object" }
  /** JSON that validates against a JSON Schema (text or object). */
  | { type: "json_schema"; schema: string | Record<string, unknown> }
  /** Text that matches a regular expression (whole output). */
  | { type: "regex"; pattern: string }
  /** Text of an XGrammar EBNF grammar (GBNF-like), root rule `root`. */
  | { type: "grammar"; grammar: string }
  /** Exactly one of these strings. */
  | { type: "choice"; choices: string[] }
  /** Continues a JSON document whose text so far is `before`: before + output stays a valid JSON prefix. */
  | { type: "json_prefix"; before: string };

export type ConstraintType = OutputConstraint["type"];

/** Each type and the keys it takes besides `type`. */
const KEYS: Record<ConstraintType, readonly string[]> = {
  json_object: [],
  json_schema: ["schema"],
  regex: ["pattern"],
  grammar: ["grammar"],
  choice: ["choices"],
  json_prefix: ["before"],
};

export const CONSTRAINT_TYPES = Object.keys(KEYS) as ConstraintType[];

/** Longest text a constraint field may hold (characters): compiling is not free, and it runs on the engine's thread. */
export const MAX_CONSTRAINT_TEXT = 1_000_000;
/** Most choices. */
export const MAX_CHOICES = 10_000;

/** What XGrammar compiles: a JSON schema, a regular expression, or an EBNF grammar. */
export type SourceKind = "schema" | "regex" | "ebnf";

/** A constraint checked and in canonical form. */
export interface CheckedConstraint {
  type: ConstraintType;
  kind: SourceKind;
  /** What XGrammar compiles (schema text as JSON.stringify writes it, a pattern, or EBNF). */
  source: string;
  /** The field errors about its content name ("constraint.schema"). */
  field: string;
  /** The compiled-grammar cache key: kind and source. */
  key: string;
  /** json_prefix: the document's text so far, accepted before the output. */
  before?: string;
}

/** JSON schemas compile to compact JSON: `{"a": 1, "b": [2, 3]}` (json.dumps' separators, one line, no other whitespace). */
const ANY_OBJECT = '{"type":"object"}';

/**
 * A JSON document (RFC 8259) with whitespace where JSON allows it (CR
 * included: CRLF files): what json_prefix output continues.
 */
export const JSON_DOCUMENT_GRAMMAR = String.raw`root ::= ws value ws
value ::= object | array | string | number | "true" | "false" | "null"
object ::= "{" ws "}" | "{" ws member (ws "," ws member)* ws "}"
member ::= string ws ":" ws value
array ::= "[" ws "]" | "[" ws value (ws "," ws value)* ws "]"
string ::= "\"" char* "\""
char ::= [^"\\\x00-\x1f] | "\\" escape
escape ::= ["\\/bfnrt] | "u" hex hex hex hex
hex ::= [0-9a-fA-F]
number ::= "-"? int frac? exp?
int ::= "0" | [1-9] [0-9]*
frac ::= "." [0-9]+
exp ::= [eE] [+-]? [0-9]+
ws ::= [ \t\n\r]*
`;

/** A string as an EBNF literal: quotes and backslashes escaped, control characters as \uXXXX. */
export function ebnfString(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (cp < 0x20 || cp === 0x7f) out += `\\u${cp.toString(16).padStart(4, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}

/** A grammar whose language is exactly the given strings. */
export function choiceGrammar(choices: readonly string[]): string {
  return `root ::= ${choices.map(ebnfString).join(" | ")}\n`;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function text(field: string, v: unknown, allowEmpty = false): string {
  if (typeof v !== "string") throw new GlimpseConfigError(field, `must be a string, got ${describe(v)}`);
  if (!allowEmpty && v.length === 0) throw new GlimpseConfigError(field, "must not be empty");
  if (v.length > MAX_CONSTRAINT_TEXT) throw new GlimpseConfigError(field, `is too long (${v.length} characters; at most ${MAX_CONSTRAINT_TEXT})`);
  if (LONE_SURROGATE.test(v)) throw new GlimpseConfigError(field, "must be well-formed Unicode (it has a lone surrogate)");
  return v;
}

function describe(v: unknown): string {
  if (v === undefined) return "nothing";
  if (Array.isArray(v)) return "an array";
  if (v === null) return "null";
  return typeof v === "object" ? "an object" : JSON.stringify(v);
}

/** The schema's canonical text (property order kept: it is the order of the output's keys). */
function schemaSource(v: unknown): string {
  const field = "constraint.schema";
  let schema: unknown = v;
  if (typeof v === "string") {
    text(field, v);
    try {
      schema = JSON.parse(v);
    } catch (err) {
      throw new GlimpseConfigError(field, `is not valid JSON: ${(err as Error).message}`);
    }
  }
  if (schema === null || typeof schema !== "object" || Array.isArray(schema)) {
    throw new GlimpseConfigError(field, `must be a JSON Schema object (or its JSON text), got ${describe(schema)}`);
  }
  checkSchemaKeywords(schema, field);
  let source: string;
  try {
    source = JSON.stringify(schema);
  } catch (err) {
    throw new GlimpseConfigError(field, `cannot be written as JSON: ${(err as Error).message}`);
  }
  if (source.length > MAX_CONSTRAINT_TEXT) throw new GlimpseConfigError(field, `is too long (${source.length} characters as JSON; at most ${MAX_CONSTRAINT_TEXT})`);
  return source;
}

/** Checks a constraint's shape (not yet whether XGrammar compiles it); throws a GlimpseConfigError naming the field. */
export function checkConstraint(c: unknown): CheckedConstraint {
  if (c === null || typeof c !== "object" || Array.isArray(c)) throw new GlimpseConfigError("constraint", `must be an object with a "type", got ${describe(c)}`);
  const o = c as Record<string, unknown>;
  const type = o.type as ConstraintType;
  if (typeof type !== "string" || !(type in KEYS)) {
    throw new GlimpseConfigError("constraint.type", `must be one of ${CONSTRAINT_TYPES.join(", ")}, got ${describe(o.type)}`);
  }
  for (const key of Object.keys(o)) {
    if (key !== "type" && !KEYS[type].includes(key)) {
      throw new GlimpseConfigError(`constraint.${key}`, `is not a key of a "${type}" constraint (${KEYS[type].length > 0 ? `it takes ${KEYS[type].join(", ")}` : "it takes none"})`);
    }
  }
  const make = (kind: SourceKind, source: string, field: string, before?: string): CheckedConstraint => ({
    type, kind, source, field, key: `${kind}\u0000${source}`, ...(before !== undefined ? { before } : {}),
  });
  switch (type) {
    case "json_object":
      return make("schema", ANY_OBJECT, "constraint");
    case "json_schema":
      return make("schema", schemaSource(o.schema), "constraint.schema");
    case "regex":
      return make("regex", text("constraint.pattern", o.pattern), "constraint.pattern");
    case "grammar":
      return make("ebnf", text("constraint.grammar", o.grammar), "constraint.grammar");
    case "choice": {
      const choices = o.choices;
      if (!Array.isArray(choices) || choices.length === 0) throw new GlimpseConfigError("constraint.choices", `must be a non-empty array of strings, got ${describe(choices)}`);
      if (choices.length > MAX_CHOICES) throw new GlimpseConfigError("constraint.choices", `has ${choices.length} entries; at most ${MAX_CHOICES}`);
      choices.forEach((s, i) => text(`constraint.choices[${i}]`, s, true));
      return make("ebnf", choiceGrammar(choices as string[]), "constraint.choices");
    }
    case "json_prefix":
      return make("ebnf", JSON_DOCUMENT_GRAMMAR, "constraint.before", text("constraint.before", o.before, true));
  }
}
