// JSON mode (response_format {"type": "json_object"}) is constrained
// decoding: whatever the prompt, the answer is a JSON object from its first
// character (the text filter it replaces returned "" when the model wrote no
// object). JSON.parse is the judge.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { post, startServer, SUFFIX, type TestServer } from "./helpers.js";
import { isJsonPrefix } from "./structured-fixtures.js";

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer({ speculativeConfig: SUFFIX });
});
afterAll(() => srv?.close());

// Prompts the model would otherwise answer with code or prose.
const PROMPTS = [
  "Write a Python function that reverses a string. Reply in JSON.",
  "hi (json please)",
  "List three fruits as json.",
  "def quicksort(xs):  # explain in JSON",
  "Translate 'hello' to French; json output.",
];

function expectJsonObject(text: string, finish: string) {
  expect(text.startsWith("{"), JSON.stringify(text)).toBe(true);
  if (finish === "stop") {
    const v = JSON.parse(text);
    expect(v !== null && typeof v === "object" && !Array.isArray(v)).toBe(true);
  } else {
    expect(finish).toBe("length");
    expect(isJsonPrefix(text), text).toBe(true);
  }
}

describe("response_format json_object", () => {
  it.each(PROMPTS)("chat %j: a JSON object, greedy and sampled", async (content) => {
    for (const sampling of [{ temperature: 0 }, { temperature: 1, seed: 11 }]) {
      const r = await post(srv.url + "/v1/chat/completions", { messages: [{ role: "user", content }], max_tokens: 128, response_format: { type: "json_object" }, ...sampling });
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      expectJsonObject(r.json.choices[0].message.content, r.json.choices[0].finish_reason);
    }
  });

  it("completions: a JSON object too (no rule about the prompt there, as in vLLM)", async () => {
    const r = await post(srv.url + "/v1/completions", { prompt: "def main():\n", max_tokens: 128, temperature: 0, response_format: { type: "json_object" } });
    expect(r.status, JSON.stringify(r.json)).toBe(200);
    expectJsonObject(r.json.choices[0].text, r.json.choices[0].finish_reason);
  });

  it("chat still needs the messages to mention JSON (OpenAI's rule)", async () => {
    const r = await post(srv.url + "/v1/chat/completions", { messages: [{ role: "user", content: "hi" }], response_format: { type: "json_object" } });
    expect(r.status).toBe(400);
    expect(r.json.error.param).toBe("messages");
  });
});
