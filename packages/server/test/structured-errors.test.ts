// Bad structured-output requests: each a 400 naming the request's own field
// (streamed requests too: the error comes before any event), never an
// unconstrained answer; and a bad request does not disturb a good one.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { post, startServer, SUFFIX, type TestServer } from "./helpers.js";
import { collect, expectValid, PROJECT_SCHEMA } from "./structured-fixtures.js";

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer({ speculativeConfig: SUFFIX });
});
afterAll(() => srv?.close());

const CHAT = "/v1/chat/completions";
const C = "/v1/completions";
const msgs = [{ role: "user", content: "Answer in JSON." }];
const chat = (fields: object) => ({ messages: msgs, max_tokens: 8, ...fields });
const comp = (fields: object) => ({ prompt: "x", max_tokens: 8, ...fields });
const fmt = (schema: unknown) => ({ response_format: { type: "json_schema", json_schema: { name: "s", schema } } });
const tool = (name: string, parameters?: unknown) => ({ type: "function", function: { name, ...(parameters === undefined ? {} : { parameters }) } });

/** JSON Schema that XGrammar refuses: a reference to a definition that does not exist. */
const DANGLING_REF = { type: "object", properties: { a: { $ref: "#/$defs/missing" } }, required: ["a"] };
const OK_SCHEMA = { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"] };

// [name, path, body, expected param]
const cases: [string, string, object, string][] = [
  // Shapes (zod).
  ["json_schema without schema", CHAT, chat({ response_format: { type: "json_schema", json_schema: { name: "s" } } }), "response_format.json_schema.schema"],
  ["json_schema schema not an object", CHAT, chat(fmt("{\"type\": \"object\"}")), "response_format.json_schema.schema"],
  ["json_schema without json_schema", C, comp({ response_format: { type: "json_schema" } }), "response_format.json_schema"],
  ["json_schema bad name", CHAT, chat({ response_format: { type: "json_schema", json_schema: { name: "a b", schema: OK_SCHEMA } } }), "response_format.json_schema.name"],
  ["unknown response_format type", C, comp({ response_format: { type: "yaml" } }), "response_format.type"],
  ["structured_outputs empty", C, comp({ structured_outputs: {} }), "structured_outputs"],
  ["structured_outputs json + regex", CHAT, chat({ structured_outputs: { json: OK_SCHEMA, regex: "a+" } }), "structured_outputs.regex"],
  ["structured_outputs.choice empty", C, comp({ structured_outputs: { choice: [] } }), "structured_outputs.choice"],
  ["structured_outputs.choice not strings", CHAT, chat({ structured_outputs: { choice: ["a", 2] } }), "structured_outputs.choice[1]"],
  ["structured_outputs.regex not a string", C, comp({ structured_outputs: { regex: 5 } }), "structured_outputs.regex"],
  ["structured_outputs.json a number", C, comp({ structured_outputs: { json: 5 } }), "structured_outputs.json"],
  ["structured_outputs.structural_tag", C, comp({ structured_outputs: { structural_tag: "{}" } }), "structured_outputs.structural_tag"],
  ["structured_outputs.disable_any_whitespace", C, comp({ structured_outputs: { json: OK_SCHEMA, disable_any_whitespace: true } }), "structured_outputs.disable_any_whitespace"],
  ["structured_outputs unknown key", C, comp({ structured_outputs: { jsonschema: OK_SCHEMA } }), "structured_outputs.jsonschema"],
  ["guided_choice empty", C, comp({ guided_choice: [] }), "guided_choice"],
  ["guided_grammar empty", CHAT, chat({ guided_grammar: "" }), "guided_grammar"],
  ["guided_whitespace_pattern", C, comp({ guided_json: OK_SCHEMA, guided_whitespace_pattern: " *" }), "guided_whitespace_pattern"],
  ["guided_decoding_backend outlines", C, comp({ guided_regex: "a", guided_decoding_backend: "outlines" }), "guided_decoding_backend"],
  ["json_prefix not a string", C, comp({ json_prefix: 3 }), "json_prefix"],
  ["json_object chat without 'json' in the messages", CHAT, { messages: [{ role: "user", content: "hi" }], response_format: { type: "json_object" } }, "messages"],
  // What XGrammar refuses, named by the request's field.
  ["response_format schema with a dangling $ref", CHAT, chat(fmt(DANGLING_REF)), "response_format.json_schema.schema"],
  ["response_format schema with a dangling $ref (completions)", C, comp(fmt(DANGLING_REF)), "response_format.json_schema.schema"],
  ["structured_outputs.json with a dangling $ref", C, comp({ structured_outputs: { json: DANGLING_REF } }), "structured_outputs.json"],
  ["structured_outputs.json text that is not JSON", C, comp({ structured_outputs: { json: "{not json" } }), "structured_outputs.json"],
  ["guided_json with a dangling $ref", CHAT, chat({ guided_json: DANGLING_REF }), "guided_json"],
  ["structured_outputs.regex unbalanced", C, comp({ structured_outputs: { regex: "(ab" } }), "structured_outputs.regex"],
  ["guided_regex unbalanced", CHAT, chat({ guided_regex: "[a-" }), "guided_regex"],
  ["structured_outputs.grammar undefined rule", CHAT, chat({ structured_outputs: { grammar: "root ::= item\n" } }), "structured_outputs.grammar"],
  ["guided_grammar not EBNF", C, comp({ guided_grammar: "root = = x" }), "guided_grammar"],
  ["a keyword XGrammar would not enforce", CHAT, chat(fmt({ type: "object", properties: { a: { not: { type: "string" } } } })), "response_format.json_schema.schema"],
  ["a keyword XGrammar would not enforce, in a tool", CHAT, chat({ tools: [tool("f", { type: "object", properties: { a: { type: "array", uniqueItems: true } } })], tool_choice: "required" }), "tools[0].function.parameters"],
  // Two constraints at once.
  ["response_format + guided_regex", CHAT, chat({ ...fmt(OK_SCHEMA), guided_regex: "a+" }), "guided_regex"],
  ["response_format + structured_outputs (completions)", C, comp({ response_format: { type: "json_object" }, structured_outputs: { regex: "a+" } }), "structured_outputs.regex"],
  ["guided_json + guided_choice", C, comp({ guided_json: OK_SCHEMA, guided_choice: ["a"] }), "guided_choice"],
  ["structured_outputs + json_prefix", C, comp({ structured_outputs: { choice: ["a"] }, json_prefix: "{" }), "json_prefix"],
  ["tool_choice required + response_format", CHAT, chat({ tools: [tool("f")], tool_choice: "required", response_format: { type: "json_object" } }), "tool_choice"],
  ["named tool_choice + guided_regex", CHAT, chat({ tools: [tool("f")], tool_choice: { type: "function", function: { name: "f" } }, guided_regex: "a" }), "tool_choice"],
  // Tools.
  ["tool_choice names a function not in tools", CHAT, chat({ tools: [tool("f")], tool_choice: { type: "function", function: { name: "g" } } }), "tool_choice"],
  ["tool_choice required without tools", CHAT, chat({ tool_choice: "required" }), "tool_choice"],
  ["tool_choice bad value", CHAT, chat({ tools: [tool("f")], tool_choice: "always" }), "tool_choice"],
  ["tools empty", CHAT, chat({ tools: [] }), "tools"],
  ["tool parameters not an object", CHAT, chat({ tools: [tool("f", "{}")], tool_choice: "required" }), "tools[0].function.parameters"],
  ["tool with a bad name", CHAT, chat({ tools: [tool("no spaces")] }), "tools[0].function.name"],
  ["tools with the same name twice", CHAT, chat({ tools: [tool("f"), tool("f")] }), "tools[1].function.name"],
  ["tool parameters XGrammar refuses (required)", CHAT, chat({ tools: [tool("f", OK_SCHEMA), tool("g", DANGLING_REF)], tool_choice: "required" }), "tools[1].function.parameters"],
  ["tool parameters XGrammar refuses (named)", CHAT, chat({ tools: [tool("g", DANGLING_REF)], tool_choice: { type: "function", function: { name: "g" } } }), "tools[0].function.parameters"],
  ["tools on completions", C, comp({ tools: [tool("f")] }), "tools"],
];

describe("bad structured-output requests", () => {
  it.each(cases)("%s -> 400 %s (and so when streamed)", async (_name, path, body, param) => {
    for (const stream of [false, true]) {
      const res = await fetch(srv.url + path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ ...body, stream }) });
      expect(res.status).toBe(400);
      expect(res.headers.get("content-type")).toContain("application/json");
      const { error } = (await res.json()) as { error: { message: string; type: string; param: string } };
      expect(error.type).toBe("invalid_request_error");
      expect(error.param).toBe(param);
      expect(error.message.startsWith(`${param}: `), error.message).toBe(true);
      expect(error.message).not.toContain("constraint.");
    }
  });

  it("passes on the engine's and XGrammar's own messages", async () => {
    const r = await post(srv.url + C, comp({ guided_regex: "(ab" }));
    expect(r.status).toBe(400);
    // XGrammar's text (0.1.27: "Regex parsing error at position 4: The parenthesis is not closed.") follows the field.
    expect(r.json.error.message).toMatch(/^guided_regex: .*regex.*parenthesis/i);
    const k = await post(srv.url + CHAT, chat({ tools: [tool("f", { type: "object", properties: { a: { type: "array", uniqueItems: true } } })], tool_choice: "required" }));
    expect(k.json.error.message).toContain("uniqueItems");
    expect(k.json.error.message).toContain("#/properties/a");
  });

  it("says only one constraint is allowed and names both fields", async () => {
    const r = await post(srv.url + CHAT, chat({ ...fmt(OK_SCHEMA), guided_regex: "a+" }));
    expect(r.json.error.message).toContain("only one");
    expect(r.json.error.message).toContain("response_format");
    expect(r.json.error.message).toContain("guided_regex");
  });

  it("a bad request beside good concurrent ones fails alone; the server serves on", async () => {
    const good = () => collect(srv.url, C, { prompt: "# JSON:\n", max_tokens: 96, temperature: 0, structured_outputs: { json: PROJECT_SCHEMA }, stream: true });
    const bad = () => post(srv.url + C, comp({ structured_outputs: { json: DANGLING_REF }, stream: true }));
    const [g1, b1, g2, b2] = await Promise.all([good(), bad(), good(), bad()]);
    for (const b of [b1, b2]) expect(b.status).toBe(400);
    for (const g of [g1, g2]) {
      expect(g.status).toBe(200);
      expect(g.finish).toBe("stop");
      expectValid(PROJECT_SCHEMA, JSON.parse(g.text));
    }
    expect(g1.text).toBe(g2.text);
    expect(srv.engine.activeRequestCount).toBe(0);
  });
});
