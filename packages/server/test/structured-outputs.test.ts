// Structured outputs over HTTP on the embedded model: every request field
// that constrains the output, on /v1/chat/completions and /v1/completions,
// streamed and not. Each answer is checked independently of the engine:
// ajv for schemas, RegExps written here for regexes and grammars, the choice
// list, a JSON-prefix reader for json_prefix.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, SUFFIX, type TestServer } from "./helpers.js";
import {
  CHOICES, collect, expectValid, GRAMMAR, GRAMMAR_JS, isJsonPrefix, PROJECT_SCHEMA, REGEX, REGEX_JS, type Collected,
} from "./structured-fixtures.js";

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer({ speculativeConfig: SUFFIX });
});
afterAll(() => srv?.close());

const CHAT = "/v1/chat/completions";
const COMPLETIONS = "/v1/completions";
const MAX_TOKENS = 96;

/** A JSON object, or (cut at max_tokens) the beginning of one. */
function expectObject(r: Collected) {
  expect(r.text.startsWith("{") || r.text.trimStart().startsWith("{"), r.text).toBe(true);
  if (r.finish === "stop") expect(JSON.parse(r.text)).toBeTypeOf("object");
  else expect(isJsonPrefix(r.text), r.text).toBe(true);
}

function expectSchema(r: Collected) {
  expect(r.finish, r.text).toBe("stop");
  expectValid(PROJECT_SCHEMA, JSON.parse(r.text));
}

const expectRegex = (r: Collected) => {
  expect(r.finish).toBe("stop");
  expect(r.text).toMatch(REGEX_JS);
};
const expectChoice = (r: Collected) => {
  expect(r.finish).toBe("stop");
  expect(CHOICES).toContain(r.text);
};
const expectGrammar = (r: Collected) => {
  expect(r.finish).toBe("stop");
  expect(r.text).toMatch(GRAMMAR_JS);
};

const JSON_BEFORE = "{\n  \"name\": \"glimpse\",\n  \"version\": \"0.1.0\",\n  \"scripts\": {\n    \"build\": ";

// [name, request fields, check]
const kinds: [string, Record<string, unknown>, (r: Collected) => void][] = [
  ["response_format json_schema", { response_format: { type: "json_schema", json_schema: { name: "project", schema: PROJECT_SCHEMA, strict: true } } }, expectSchema],
  ["response_format json_object", { response_format: { type: "json_object" } }, expectObject],
  ["structured_outputs.json (object)", { structured_outputs: { json: PROJECT_SCHEMA } }, expectSchema],
  ["structured_outputs.json (text)", { structured_outputs: { json: JSON.stringify(PROJECT_SCHEMA) } }, expectSchema],
  ["structured_outputs.regex", { structured_outputs: { regex: REGEX } }, expectRegex],
  ["structured_outputs.choice", { structured_outputs: { choice: CHOICES } }, expectChoice],
  ["structured_outputs.grammar", { structured_outputs: { grammar: GRAMMAR } }, expectGrammar],
  ["structured_outputs.json_object", { structured_outputs: { json_object: true } }, expectObject],
  ["guided_json", { guided_json: PROJECT_SCHEMA }, expectSchema],
  ["guided_regex", { guided_regex: REGEX }, expectRegex],
  ["guided_choice", { guided_choice: CHOICES }, expectChoice],
  ["guided_grammar", { guided_grammar: GRAMMAR, guided_decoding_backend: "xgrammar" }, expectGrammar],
  ["json_prefix", { json_prefix: JSON_BEFORE }, (r) => expect(isJsonPrefix(JSON_BEFORE + r.text), r.text).toBe(true)],
  ["response_format text + guided_regex (text constrains nothing)", { response_format: { type: "text" }, guided_regex: REGEX }, expectRegex],
];

const chatBody = (fields: Record<string, unknown>) => ({
  messages: [{ role: "system", content: "You answer in JSON." }, { role: "user", content: "Describe a small software project." }],
  max_tokens: MAX_TOKENS,
  temperature: 0,
  ...fields,
});
const completionBody = (fields: Record<string, unknown>) => ({ prompt: "# A small project, described as JSON:\n", max_tokens: MAX_TOKENS, temperature: 0, ...fields });

describe.each([
  ["chat", CHAT, chatBody],
  ["completions", COMPLETIONS, completionBody],
] as const)("%s", (_name, path, body) => {
  it.each(kinds)("%s: streamed and not, the same greedy answer, in the constrained language", async (_kind, fields, check) => {
    const whole = await collect(srv.url, path, body(fields));
    expect(whole.status, JSON.stringify(whole.body)).toBe(200);
    check(whole);
    const streamed = await collect(srv.url, path, { ...body(fields), stream: true });
    expect(streamed.status).toBe(200);
    check(streamed);
    expect(streamed.text).toBe(whole.text);
    expect(streamed.finish).toBe(whole.finish);
  });

  it("sampled answers (3 seeds, n = 2) follow the schema too", async () => {
    for (const seed of [1, 2, 3]) {
      const r = await collect(srv.url, path, { ...body({ structured_outputs: { json: PROJECT_SCHEMA } }), temperature: 1, seed, n: 2 });
      expect(r.status).toBe(200);
      expect(r.body.choices).toHaveLength(2);
      for (const c of r.body.choices) {
        const text = path === CHAT ? c.message.content : c.text;
        expect(c.finish_reason, text).toBe("stop");
        expectValid(PROJECT_SCHEMA, JSON.parse(text), `seed ${seed}`);
      }
    }
  });
});

describe("completions specifics", () => {
  it("each prompt of a batch, and echo, keep the constraint on the generated text only", async () => {
    const r = await collect(srv.url, COMPLETIONS, { prompt: ["Colour: ", "Pick one: "], guided_choice: CHOICES, echo: true, max_tokens: 8, temperature: 0 });
    expect(r.status).toBe(200);
    const texts = r.body.choices.map((c: { text: string }) => c.text);
    expect(texts).toHaveLength(2);
    expect(CHOICES).toContain(texts[0].slice("Colour: ".length));
    expect(CHOICES).toContain(texts[1].slice("Pick one: ".length));
  });

  it("json_prefix from an empty document starts a JSON value", async () => {
    const r = await collect(srv.url, COMPLETIONS, { prompt: "// settings.json\n", json_prefix: "", max_tokens: 24, temperature: 0 });
    expect(r.status).toBe(200);
    expect(isJsonPrefix(r.text), r.text).toBe(true);
    expect(r.text.trim().length).toBeGreaterThan(0);
  });
});

describe("the JSON-prefix reader the tests use", () => {
  it.each(["", "{", "{\"a\": [1, 2.5e", "[true, nul", "\"esc \\u00", "{\"a\": {}}", "  [ ] "])("accepts %j", (t) => expect(isJsonPrefix(t)).toBe(true));
  it.each(["}", "{,", "{\"a\" 1", "[1,]", "tru e", "{\"a\": 1}}", "01", "\"\\x\"", "[1 2]"])("refuses %j", (t) => expect(isJsonPrefix(t)).toBe(false));
});
