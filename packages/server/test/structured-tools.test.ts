// Forced function calls on /v1/chat/completions: tool_choice naming a
// function, or "required", answer with message.tool_calls whose arguments
// ajv finds valid for that function's parameters, streamed as OpenAI streams
// them; the openai SDK reads them.

import OpenAI from "openai";
import { zodFunction, zodResponseFormat } from "openai/helpers/zod";
import { z } from "zod";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { post, startServer, SUFFIX, type TestServer } from "./helpers.js";
import { expectValid, PROJECT_SCHEMA } from "./structured-fixtures.js";

let srv: TestServer;
let client: OpenAI;
beforeAll(async () => {
  srv = await startServer({ speculativeConfig: SUFFIX });
  client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: "unused", maxRetries: 0 });
});
afterAll(() => srv?.close());

const CHAT = "/v1/chat/completions";
const model = "glimpse-test";

const WEATHER = {
  type: "object",
  properties: { city: { type: "string", minLength: 1, maxLength: 16 }, unit: { enum: ["celsius", "fahrenheit"] } },
  required: ["city", "unit"],
  additionalProperties: false,
};
const TODO = {
  type: "object",
  properties: { title: { type: "string", maxLength: 20 }, priority: { enum: ["low", "high"] }, done: { type: "boolean" } },
  required: ["title", "priority"],
  additionalProperties: false,
};
const TOOLS = [
  { type: "function", function: { name: "get_weather", description: "Current weather in a city", parameters: WEATHER } },
  { type: "function", function: { name: "add_todo", description: "Add an item to the todo list", parameters: TODO } },
  { type: "function", function: { name: "get_time", description: "The time now" } },
];
const PARAMETERS: Record<string, object> = {
  get_weather: WEATHER,
  add_todo: TODO,
  get_time: { type: "object", properties: {}, additionalProperties: false },
};
const messages = [{ role: "user", content: "What is the weather in Paris? Also remind me to buy milk." }];

interface Call { id: string; type: string; function: { name: string; arguments: string } }

function expectCalls(calls: Call[], names?: string[]) {
  expect(calls.length).toBeGreaterThan(0);
  for (const c of calls) {
    expect(c.type).toBe("function");
    expect(c.id).toMatch(/^call_/);
    expect(Object.keys(PARAMETERS)).toContain(c.function.name);
    expect(typeof c.function.arguments).toBe("string");
    expectValid(PARAMETERS[c.function.name], JSON.parse(c.function.arguments), c.function.name);
  }
  if (names) expect(calls.map((c) => c.function.name)).toEqual(names);
  expect(new Set(calls.map((c) => c.id)).size).toBe(calls.length);
}

/** A streamed answer's tool_calls deltas, joined as a client joins them. */
async function streamCalls(body: object) {
  const res = await fetch(srv.url + CHAT, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ ...body, stream: true }) });
  expect(res.status).toBe(200);
  const lines = (await res.text()).split("\n").filter((l) => l.startsWith("data: "));
  expect(lines.at(-1)).toBe("data: [DONE]");
  const calls: Call[] = [];
  let finish: string | null = null;
  let role: string | undefined;
  let content = "";
  for (const line of lines.slice(0, -1)) {
    const e = JSON.parse(line.slice(6));
    expect(e.error, line).toBeUndefined();
    const c = e.choices[0];
    if (!c) continue;
    role ??= c.delta.role;
    content += c.delta.content ?? "";
    finish = c.finish_reason ?? finish;
    for (const d of c.delta.tool_calls ?? []) {
      if (d.id) {
        expect(d.index).toBe(calls.length);
        calls.push({ id: d.id, type: d.type, function: { name: d.function.name, arguments: d.function.arguments ?? "" } });
      } else {
        expect(d.id).toBeUndefined();
        calls[d.index].function.arguments += d.function.arguments;
      }
    }
  }
  return { calls, finish, role, content };
}

describe("tool_choice naming a function", () => {
  const body = { messages, tools: TOOLS, tool_choice: { type: "function", function: { name: "get_weather" } }, max_tokens: 64, temperature: 0 };

  it("answers with one call of it, arguments valid for its parameters, finish_reason tool_calls", async () => {
    const r = await post(srv.url + CHAT, body);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    const c = r.json.choices[0];
    expect(c.finish_reason).toBe("tool_calls");
    expect(c.message.role).toBe("assistant");
    expect(c.message.content).toBeNull();
    expectCalls(c.message.tool_calls, ["get_weather"]);
  });

  it("streams the same call: the id and name first, then the arguments in pieces", async () => {
    const whole = (await post(srv.url + CHAT, body)).json.choices[0].message.tool_calls as Call[];
    const s = await streamCalls(body);
    expect(s.role).toBe("assistant");
    expect(s.content).toBe("");
    expect(s.finish).toBe("tool_calls");
    expectCalls(s.calls, ["get_weather"]);
    expect(s.calls[0].function.arguments).toBe(whole[0].function.arguments);
  });

  it("a function without parameters gets {}", async () => {
    const r = await post(srv.url + CHAT, { ...body, tool_choice: { type: "function", function: { name: "get_time" } } });
    expect(r.status).toBe(200);
    const calls = r.json.choices[0].message.tool_calls;
    expect(calls).toHaveLength(1);
    expect(calls[0].function.name).toBe("get_time");
    expect(JSON.parse(calls[0].function.arguments)).toEqual({});
  });

  it("sampled (n = 3, seeded): every call valid", async () => {
    const r = await post(srv.url + CHAT, { ...body, temperature: 1, seed: 7, n: 3 });
    expect(r.status).toBe(200);
    for (const c of r.json.choices) {
      expect(c.finish_reason).toBe("tool_calls");
      expectCalls(c.message.tool_calls, ["get_weather"]);
    }
  });
});

describe("tool_choice required", () => {
  const body = { messages, tools: TOOLS, tool_choice: "required", max_tokens: 160, temperature: 0 };

  it("answers with calls of the given tools, each valid for its own parameters", async () => {
    const r = await post(srv.url + CHAT, body);
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    const c = r.json.choices[0];
    expect(c.message.content).toBeNull();
    if (c.finish_reason === "tool_calls") expectCalls(c.message.tool_calls);
    else expect(c.finish_reason).toBe("length");
  });

  it("streams the same calls as the whole answer", async () => {
    const whole = (await post(srv.url + CHAT, body)).json.choices[0];
    const s = await streamCalls(body);
    expect(s.finish).toBe(whole.finish_reason);
    expect(s.calls.map((c) => c.function)).toEqual(whole.message.tool_calls.map((c: Call) => c.function));
  });

  it("parallel_tool_calls: false makes exactly one call; sampled answers too", async () => {
    for (const seed of [1, 2, 3, 4]) {
      const r = await post(srv.url + CHAT, { ...body, parallel_tool_calls: false, temperature: 1, seed, n: 2 });
      expect(r.status).toBe(200);
      for (const c of r.json.choices) {
        expect(c.finish_reason).toBe("tool_calls");
        expect(c.message.tool_calls).toHaveLength(1);
        expectCalls(c.message.tool_calls);
      }
    }
  });
});

describe("tool_choice auto and none (no constraint: text, as before)", () => {
  it.each(["auto", "none"])("%s answers with content", async (choice) => {
    const r = await post(srv.url + CHAT, { messages, tools: TOOLS, tool_choice: choice, max_tokens: 8, temperature: 0 });
    expect(r.status).toBe(200);
    expect(typeof r.json.choices[0].message.content).toBe("string");
    expect(r.json.choices[0].message.tool_calls).toBeUndefined();
    expect(["stop", "length"]).toContain(r.json.choices[0].finish_reason);
  });
});

describe("a conversation with tool results", () => {
  it("takes the assistant's tool_calls (content null) and the tool's answer back", async () => {
    const first = await post(srv.url + CHAT, { messages, tools: TOOLS, tool_choice: { type: "function", function: { name: "get_weather" } }, max_tokens: 64, temperature: 0 });
    const assistant = first.json.choices[0].message;
    const r = await post(srv.url + CHAT, {
      messages: [...messages, assistant, { role: "tool", tool_call_id: assistant.tool_calls[0].id, content: "{\"temperature\": 21}" }],
      tools: TOOLS,
      max_tokens: 8,
      temperature: 0,
    });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expect(typeof r.json.choices[0].message.content).toBe("string");
  });
});

describe("openai SDK", () => {
  it("create(): typed tool_calls with JSON arguments", async () => {
    const r = await client.chat.completions.create({
      model, messages: [{ role: "user", content: "Weather in Oslo?" }], max_tokens: 64, temperature: 0,
      tools: TOOLS as OpenAI.ChatCompletionTool[], tool_choice: { type: "function", function: { name: "get_weather" } },
    });
    const call = r.choices[0].message.tool_calls![0];
    expect(r.choices[0].finish_reason).toBe("tool_calls");
    expect(call.type).toBe("function");
    if (call.type !== "function") throw new Error("not a function call");
    expectValid(WEATHER, JSON.parse(call.function.arguments));
  });

  it("parse() with zodFunction: parsed_arguments", async () => {
    const tool = zodFunction({ name: "set_alarm", parameters: z.object({ hour: z.enum(["6", "7", "8"]), label: z.string().max(10) }) });
    const r = await client.chat.completions.parse({
      model, messages: [{ role: "user", content: "Wake me at seven." }], max_tokens: 64, temperature: 0,
      tools: [tool], tool_choice: { type: "function", function: { name: "set_alarm" } },
    });
    const call = r.choices[0].message.tool_calls?.[0];
    if (call?.type !== "function") throw new Error("not a function call");
    expect(["6", "7", "8"]).toContain((call.function.parsed_arguments as { hour: string }).hour);
    expect((call.function.parsed_arguments as { label: string }).label.length).toBeLessThanOrEqual(10);
  });

  it("parse() with zodResponseFormat: message.parsed", async () => {
    const Project = z.object({ name: z.string().max(12), language: z.enum(["python", "typescript", "rust"]), tested: z.boolean() });
    const r = await client.chat.completions.parse({
      model, messages: [{ role: "user", content: "Describe a project." }], max_tokens: 96, temperature: 0,
      response_format: zodResponseFormat(Project, "project"),
    });
    const parsed = r.choices[0].message.parsed;
    expect(parsed).not.toBeNull();
    expect(Project.safeParse(parsed).success).toBe(true);
  });

  it("json_schema response_format through create(), streamed with the SDK's stream helper", async () => {
    const stream = client.chat.completions.stream({
      model, messages: [{ role: "user", content: "Describe a project." }], max_tokens: 96, temperature: 0,
      response_format: { type: "json_schema", json_schema: { name: "project", schema: PROJECT_SCHEMA, strict: true } },
    });
    const final = await stream.finalChatCompletion();
    expectValid(PROJECT_SCHEMA, JSON.parse(final.choices[0].message.content!));
  });

  it("the SDK's stream helper joins streamed tool_calls", async () => {
    const stream = client.chat.completions.stream({
      model, messages: [{ role: "user", content: "Weather in Lima?" }], max_tokens: 64, temperature: 0,
      tools: TOOLS as OpenAI.ChatCompletionTool[], tool_choice: "required", parallel_tool_calls: false,
    });
    const final = await stream.finalChatCompletion();
    expect(final.choices[0].finish_reason).toBe("tool_calls");
    expectCalls(final.choices[0].message.tool_calls as Call[]);
  });
});
