// Malformed requests each get a 4xx in OpenAI's error shape with a message
// that names the problem, and the server keeps serving afterwards.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { post, startServer, SUFFIX, type TestServer } from "./helpers.js";

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer({ speculativeConfig: SUFFIX, maxModelLen: 512 }, { bodyLimit: "64kb" });
});
afterAll(() => srv?.close());

const C = "/v1/completions";
const CHAT = "/v1/chat/completions";
const ok = { prompt: "x", max_tokens: 2 };
const msgs = [{ role: "user", content: "hi" }];

// [name, path, body (object, or raw string/bytes), expected status, text the message must contain]
const cases: [string, string, unknown, number, string][] = [
  ["bad JSON", C, "{\"prompt\": ", 400, "not valid JSON"],
  ["JSON array body", C, "[1, 2]", 400, "JSON object"],
  ["JSON string body", C, "\"hello\"", 400, "JSON object"],
  ["empty body", C, "", 400, "empty"],
  ["invalid UTF-8", C, new Uint8Array([0x7b, 0x22, 0x70, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0x22, 0x7d]), 400, "UTF-8"],
  ["missing prompt", C, { max_tokens: 2 }, 400, "prompt"],
  ["prompt number", C, { prompt: 42 }, 400, "prompt"],
  ["prompt object", C, { prompt: { text: "x" } }, 400, "prompt"],
  ["prompt empty array", C, { prompt: [] }, 400, "prompt"],
  ["prompt token out of vocab", C, { prompt: [1, 99999999], max_tokens: 2 }, 400, "prompt"],
  ["prompt negative token", C, { prompt: [-1], max_tokens: 2 }, 400, "prompt"],
  ["empty prompt text", C, { prompt: "", max_tokens: 2 }, 400, "prompt"],
  ["max_tokens string", C, { ...ok, max_tokens: "10" }, 400, "max_tokens"],
  ["max_tokens zero", C, { ...ok, max_tokens: 0 }, 400, "max_tokens"],
  ["max_tokens fractional", C, { ...ok, max_tokens: 1.5 }, 400, "max_tokens"],
  ["huge max_tokens", C, { ...ok, max_tokens: 1e9 }, 400, "max_tokens"],
  ["negative temperature", C, { ...ok, temperature: -0.5 }, 400, "temperature"],
  ["temperature too high", C, { ...ok, temperature: 5 }, 400, "temperature"],
  ["temperature string", C, { ...ok, temperature: "hot" }, 400, "temperature"],
  ["top_p zero", C, { ...ok, top_p: 0 }, 400, "top_p"],
  ["top_p above 1", C, { ...ok, top_p: 1.5 }, 400, "top_p"],
  ["n zero", C, { ...ok, n: 0 }, 400, "n"],
  ["n too large", C, { ...ok, n: 1000 }, 400, "n"],
  ["seed fractional", C, { ...ok, seed: 1.5 }, 400, "seed"],
  ["stop number", C, { ...ok, stop: 5 }, 400, "stop"],
  ["stop empty string", C, { ...ok, stop: [""] }, 400, "stop"],
  ["stream string", C, { ...ok, stream: "yes" }, 400, "stream"],
  ["unknown field", C, { ...ok, frobnicate: true }, 400, "frobnicate"],
  ["unknown stream_options field", C, { ...ok, stream_options: { include_usage: true, extra: 1 } }, 400, "stream_options.extra"],
  ["logprobs out of range", C, { ...ok, logprobs: 50 }, 400, "logprobs"],
  ["echo with logprobs", C, { ...ok, echo: true, logprobs: 1 }, 400, "echo"],
  ["best_of != n", C, { ...ok, best_of: 3 }, 400, "best_of"],
  ["presence_penalty", C, { ...ok, presence_penalty: 1 }, 400, "presence_penalty"],
  ["suffix with token ids", C, { prompt: [5, 6], suffix: "x", max_tokens: 2 }, 400, "suffix"],
  ["prompt longer than the model", C, { prompt: "word ".repeat(3000), max_tokens: 2 }, 400, "prompt"],
  ["prompt + max_tokens too long", C, { prompt: "word ".repeat(150), max_tokens: 500 }, 400, "max_tokens"],
  ["unknown model", C, { ...ok, model: "gpt-4" }, 404, "gpt-4"],
  ["empty messages", CHAT, { messages: [] }, 400, "messages"],
  ["missing messages", CHAT, { max_tokens: 2 }, 400, "messages"],
  ["messages not array", CHAT, { messages: "hi" }, 400, "messages"],
  ["bad role", CHAT, { messages: [{ role: "wizard", content: "hi" }] }, 400, "messages[0].role"],
  ["content number", CHAT, { messages: [{ role: "user", content: 5 }] }, 400, "messages[0].content"],
  ["unknown message field", CHAT, { messages: [{ role: "user", content: "hi", mood: "happy" }] }, 400, "messages[0].mood"],
  ["json_schema format", CHAT, { messages: msgs, response_format: { type: "json_schema" } }, 400, "response_format"],
  ["json_object without 'json'", CHAT, { messages: msgs, response_format: { type: "json_object" } }, 400, "json"],
  ["chat unknown field", CHAT, { messages: msgs, functions: [] }, 400, "functions"],
  ["chat negative temperature", CHAT, { messages: msgs, temperature: -1 }, 400, "temperature"],
  ["conflicting max tokens", CHAT, { messages: msgs, max_tokens: 2, max_completion_tokens: 3 }, 400, "max_completion_tokens"],
  ["oversized body", C, { prompt: "a".repeat(100_000) }, 413, "larger than"],
  ["document without text", "/v1/suffix/documents", { name: "a" }, 400, "text"],
  ["unknown route", "/v1/engines", { prompt: "x" }, 404, "/v1/engines"],
];

describe("malformed requests", () => {
  it(`has at least 30 cases (${cases.length})`, () => expect(cases.length).toBeGreaterThanOrEqual(30));

  it.each(cases)("%s -> %i", async (_name, path, body, status, needle) => {
    const r = await post(srv.url + path, body);
    expect(r.status).toBe(status);
    expect(r.json.error).toMatchObject({ message: expect.any(String), type: expect.any(String) });
    expect(r.json.error.message).toContain(needle);
    expect(JSON.stringify(r.json)).not.toMatch(/at .*\.(ts|js):\d+/); // no stack traces
  });

  it("keeps serving after all of them", async () => {
    const r = await post(srv.url + C, { prompt: "def f():", max_tokens: 4, temperature: 0 });
    expect(r.status).toBe(200);
    expect(r.json.choices[0].text).toEqual(expect.any(String));
    expect(srv.engine.activeRequestCount).toBe(0);
    const health = await fetch(srv.url + "/health");
    expect(health.status).toBe(200);
  });

  it("unknown GET route is a 404 in OpenAI's shape", async () => {
    const r = await fetch(srv.url + "/nope");
    expect(r.status).toBe(404);
    expect(((await r.json()) as any).error.code).toBe("route_not_found");
  });
});

describe("API key", () => {
  let keyed: TestServer;
  beforeAll(async () => {
    keyed = await startServer({}, { apiKey: "sekret" });
  });
  afterAll(() => keyed?.close());

  it("401 without or with a wrong key; 200 with it; /health stays open", async () => {
    expect((await post(keyed.url + C, ok)).status).toBe(401);
    const wrong = await post(keyed.url + C, ok, { Authorization: "Bearer nope" });
    expect(wrong.status).toBe(401);
    expect(wrong.json.error.code).toBe("invalid_api_key");
    expect((await post(keyed.url + C, ok, { Authorization: "Bearer sekret" })).status).toBe(200);
    expect((await fetch(keyed.url + "/health")).status).toBe(200);
  });
});

describe("queue full", () => {
  let tiny: TestServer;
  beforeAll(async () => {
    tiny = await startServer({}, { maxConcurrency: 1 });
  });
  afterAll(() => tiny?.close());

  it("429 while the only slot is taken, then serves again", async () => {
    const ac = new AbortController();
    const long = await fetch(tiny.url + C, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ prompt: "x", max_tokens: 1500, ignore_eos: true, stream: true }),
      signal: ac.signal,
    });
    const reader = long.body!.getReader();
    await reader.read(); // generation has started
    const busy = await post(tiny.url + C, ok);
    expect(busy.status).toBe(429);
    expect(busy.json.error.type).toBe("rate_limit_error");
    ac.abort();
    await reader.cancel().catch(() => {});
    await expect.poll(async () => (await post(tiny.url + C, ok)).status, { timeout: 5000 }).toBe(200);
  });
});
