// Structured-output request fields shared by /v1/completions and
// /v1/chat/completions: OpenAI's response_format, vLLM's structured_outputs
// object and its older guided_* fields, and Glimpse's json_prefix. Shapes are
// checked here; what XGrammar thinks of a schema, regex or grammar is checked
// by the engine (structured/prepare.ts).

import { z } from "zod";

/** A JSON Schema given as an object (OpenAI: always an object). */
export const schemaObject = z.record(z.string(), z.unknown(), {
  error: (issue) => (issue.input === undefined ? "required (a JSON Schema object)" : "must be a JSON Schema object"),
});

/** vLLM takes a schema as an object or as its JSON text. */
const schemaObjectOrText = z.union([schemaObject, z.string().min(1)], { error: "must be a JSON Schema: an object, or its JSON text" });

const pattern = z.string({ error: "must be a regular expression (a string)" }).min(1, { error: "must not be empty" });
const grammar = z.string({ error: "must be an EBNF grammar (a string)" }).min(1, { error: "must not be empty" });
const choices = z.array(z.string({ error: "must be a string" }), { error: "must be a non-empty array of strings" })
  .min(1, { error: "must be a non-empty array of strings" });

/** OpenAI's name rule for response formats and functions. */
export const NAME = /^[A-Za-z0-9_-]{1,64}$/;
const nameRule = { error: "must be 1 to 64 letters, digits, underscores or dashes" };

/** An option Glimpse does not implement: absent, null or false only, never silently ignored. */
const unsupported = (why: string) =>
  z.unknown().refine((v) => v == null || v === false, { error: `not supported: ${why}` }).optional();

export const responseFormat = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("text") }),
  z.strictObject({ type: z.literal("json_object") }),
  z.strictObject({
    type: z.literal("json_schema"),
    json_schema: z.strictObject({
      name: z.string().regex(NAME, nameRule),
      description: z.string().optional(),
      schema: schemaObject,
      /** Accepted for compatibility; the schema is always enforced. */
      strict: z.boolean().nullish(),
    }, { error: (issue) => (issue.input === undefined ? "required: {\"name\", \"schema\"}" : "must be an object {\"name\", \"schema\", \"strict\"?, \"description\"?}") }),
  }),
], { error: "must be {\"type\": \"text\"}, {\"type\": \"json_object\"} or {\"type\": \"json_schema\", \"json_schema\": {\"name\", \"schema\"}}" });

/** vLLM's `structured_outputs` (StructuredOutputsParams): exactly one of json, regex, choice, grammar, json_object. */
export const structuredOutputs = z.strictObject({
  json: schemaObjectOrText.nullish(),
  regex: pattern.nullish(),
  choice: choices.nullish(),
  grammar: grammar.nullish(),
  json_object: z.boolean().nullish(),
  structural_tag: unsupported("structural tags (use json, regex, choice or grammar)"),
  /** Glimpse never falls back to unconstrained text, so this changes nothing. */
  disable_fallback: z.boolean().nullish(),
  disable_any_whitespace: unsupported("JSON grammars allow whitespace between tokens, as XGrammar's default"),
  disable_additional_properties: unsupported("a guidance-backend option; XGrammar is Glimpse's only backend"),
  whitespace_pattern: unsupported("JSON grammars use XGrammar's default whitespace"),
}, { error: "must be an object with one of json, regex, choice, grammar, json_object" });

/** vLLM's fields before v0.12 (since removed there in favour of structured_outputs); Glimpse still accepts them. */
export const guidedFields = {
  guided_json: schemaObjectOrText.nullish(),
  guided_regex: pattern.nullish(),
  guided_choice: choices.nullish(),
  guided_grammar: grammar.nullish(),
  guided_whitespace_pattern: unsupported("JSON grammars use XGrammar's default whitespace"),
  guided_decoding_backend: z.enum(["xgrammar", "auto"], { error: "must be \"xgrammar\" or \"auto\" (XGrammar is Glimpse's only backend)" }).nullish(),
};

export const structuredFields = {
  response_format: responseFormat.nullish(),
  structured_outputs: structuredOutputs.nullish(),
  ...guidedFields,
  /** Glimpse: the JSON text before the output; the output keeps it a valid JSON prefix (the VS Code extension's .json files). */
  json_prefix: z.string({ error: "must be a string (the JSON text before the completion)" }).nullish(),
};

export type StructuredFields = z.infer<z.ZodObject<typeof structuredFields>>;
