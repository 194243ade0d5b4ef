// Structured outputs with the engine in a worker thread (what `glimpse serve`
// runs): constraints and their compile errors cross the thread, and answers
// equal those of an engine on the server's thread.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { post, startServer, startWorkerServer, SUFFIX, type TestServer } from "./helpers.js";
import { collect, expectValid, PROJECT_SCHEMA } from "./structured-fixtures.js";

let here: TestServer;
let worker: Awaited<ReturnType<typeof startWorkerServer>>;
beforeAll(async () => {
  [here, worker] = await Promise.all([startServer({ speculativeConfig: SUFFIX }), startWorkerServer({ speculativeConfig: SUFFIX })]);
});
afterAll(async () => {
  await Promise.all([here?.close(), worker?.close()]);
});

const C = "/v1/completions";
const CHAT = "/v1/chat/completions";

describe("structured outputs through a worker-thread engine", () => {
  it("a schema-constrained answer, streamed, equals the in-thread engine's", async () => {
    const body = { prompt: "# project.json\n", max_tokens: 96, temperature: 0, response_format: { type: "json_schema", json_schema: { name: "p", schema: PROJECT_SCHEMA } }, stream: true };
    const [a, b] = await Promise.all([collect(here.url, C, body), collect(worker.url, C, body)]);
    expect(b.status).toBe(200);
    expect(b.finish).toBe("stop");
    expectValid(PROJECT_SCHEMA, JSON.parse(b.text));
    expect(b.text).toBe(a.text);
  });

  it("a forced tool call", async () => {
    const r = await post(worker.url + CHAT, {
      messages: [{ role: "user", content: "Pick a colour." }], max_tokens: 32, temperature: 0,
      tools: [{ type: "function", function: { name: "paint", parameters: { type: "object", properties: { colour: { enum: ["red", "blue"] } }, required: ["colour"], additionalProperties: false } } }],
      tool_choice: { type: "function", function: { name: "paint" } },
    });
    expect(r.status).toBe(200);
    expect(r.json.choices[0].finish_reason).toBe("tool_calls");
    expect(["red", "blue"]).toContain(JSON.parse(r.json.choices[0].message.tool_calls[0].function.arguments).colour);
  });

  it("XGrammar's refusal comes back as a 400 naming the request's field, streamed or not", async () => {
    for (const stream of [false, true]) {
      const r = await post(worker.url + C, { prompt: "x", structured_outputs: { regex: "(ab" }, stream });
      expect(r.status).toBe(400);
      expect(r.json.error.param).toBe("structured_outputs.regex");
      expect(r.json.error.message).toMatch(/^structured_outputs\.regex: .*parenthesis/i);
    }
  });
});
