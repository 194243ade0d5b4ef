// Compatibility with the official openai SDK against a live server.

import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pickStop, startServer, SUFFIX, type TestServer } from "./helpers.js";

let srv: TestServer;
let client: OpenAI;
const model = "glimpse-test";

beforeAll(async () => {
  srv = await startServer({ speculativeConfig: SUFFIX });
  client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: "unused", maxRetries: 0 });
});
afterAll(() => srv?.close());

describe("openai SDK", () => {
  it("lists the served model", async () => {
    const list = await client.models.list();
    expect(list.data.map((m) => m.id)).toEqual([model]);
    expect((await client.models.retrieve(model)).id).toBe(model);
  });

  it("completes text, with usage that matches the tokenizer and speculative stats", async () => {
    const prompt = "def fibonacci(n):";
    const r = await client.completions.create({ model, prompt, max_tokens: 12, temperature: 0 });
    expect(r.object).toBe("text_completion");
    expect(r.choices).toHaveLength(1);
    expect(typeof r.choices[0].text).toBe("string");
    expect(["stop", "length"]).toContain(r.choices[0].finish_reason);
    const promptTokens = srv.engine.tokenizer.encode(prompt).length;
    expect(r.usage).toEqual({ prompt_tokens: promptTokens, completion_tokens: expect.any(Number), total_tokens: promptTokens + r.usage!.completion_tokens, prompt_tokens_details: { cached_tokens: expect.any(Number) } });
    expect(r.usage!.completion_tokens).toBeGreaterThan(0);
    expect(r.usage!.completion_tokens).toBeLessThanOrEqual(12);
    const spec = (r as any).metrics.speculative_decoding;
    expect(spec).toMatchObject({ num_drafts: expect.any(Number), num_draft_tokens: expect.any(Number), num_accepted_tokens: expect.any(Number) });
    expect(spec.num_accepted_tokens).toBeLessThanOrEqual(spec.num_draft_tokens);
  });

  it("reports the prompt tokens served from the prompt cache, as OpenAI does", async () => {
    const prompt = "def fibonacci(n):\n    if n < 2:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n\n\ndef factorial(n):\n";
    const promptTokens = srv.engine.tokenizer.encode(prompt).length;
    expect(promptTokens).toBeGreaterThan(20);
    const first = await client.completions.create({ model, prompt, max_tokens: 8, temperature: 0 });
    const again = await client.completions.create({ model, prompt, max_tokens: 8, temperature: 0 });
    expect(first.usage!.prompt_tokens_details!.cached_tokens).toBe(0);
    // All but the last token, whose logits are the first output.
    expect(again.usage!.prompt_tokens_details!.cached_tokens).toBe(promptTokens - 1);
    expect(again.choices[0].text).toBe(first.choices[0].text);
  });

  it("streams the same greedy text as the non-streaming call, ending with usage", async () => {
    const body = { model, prompt: "class Stack:\n    def push(self, x):", max_tokens: 24, temperature: 0 };
    const whole = await client.completions.create(body);
    const stream = await client.completions.create({ ...body, stream: true, stream_options: { include_usage: true } });
    let text = "";
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | undefined;
    let metrics: any;
    for await (const chunk of stream) {
      for (const c of chunk.choices) {
        text += c.text;
        finish = c.finish_reason ?? finish;
      }
      if (chunk.usage) {
        usage = chunk.usage;
        metrics = (chunk as any).metrics;
      }
    }
    expect(text).toBe(whole.choices[0].text);
    expect(finish).toBe(whole.choices[0].finish_reason);
    expect(usage).toEqual(whole.usage);
    expect(metrics.speculative_decoding.num_drafts).toBeGreaterThanOrEqual(0);
  });

  it("chat: non-streaming and streaming agree under greedy decoding", async () => {
    const messages = [{ role: "system" as const, content: "You write Python." }, { role: "user" as const, content: "Reverse a list." }];
    const r = await client.chat.completions.create({ model, messages, max_tokens: 16, temperature: 0 });
    expect(r.object).toBe("chat.completion");
    expect(r.choices[0].message.role).toBe("assistant");
    const rendered = srv.engine.tokenizer.applyChatTemplate(messages);
    expect(r.usage!.prompt_tokens).toBe(srv.engine.tokenizer.encode(rendered).length);
    const stream = await client.chat.completions.create({ model, messages, max_tokens: 16, temperature: 0, stream: true });
    let content = "";
    let role: string | undefined;
    let sawUsage = false;
    for await (const chunk of stream) {
      role ??= chunk.choices[0]?.delta.role;
      content += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) sawUsage = true;
    }
    expect(role).toBe("assistant");
    expect(content).toBe(r.choices[0].message.content);
    expect(sawUsage).toBe(false); // only with stream_options.include_usage
  });

  it("seed makes sampling reproducible; different seeds differ", async () => {
    const body = { model, prompt: "import os\n", max_tokens: 24, temperature: 1 };
    const a = await client.completions.create({ ...body, seed: 1234 });
    const b = await client.completions.create({ ...body, seed: 1234 });
    expect(b.choices[0].text).toBe(a.choices[0].text);
    const others = await Promise.all([1, 2, 3].map((seed) => client.completions.create({ ...body, seed })));
    const texts = new Set([a, ...others].map((r) => r.choices[0].text));
    expect(texts.size).toBeGreaterThan(1);
  });

  it("stop sequences end the text before the stop string (completions and chat)", async () => {
    const body = { model, prompt: "function add(a, b) {", max_tokens: 48, temperature: 1, seed: 99 };
    const free = await client.completions.create(body);
    const pick = pickStop(free.choices[0].text);
    expect(pick, `no usable stop string in ${JSON.stringify(free.choices[0].text)}`).not.toBeNull();
    const stopped = await client.completions.create({ ...body, stop: [pick!.stop, "never-appears-xyz"] });
    expect(stopped.choices[0].text).toBe(pick!.before);
    expect(stopped.choices[0].finish_reason).toBe("stop");

    const chatBody = { model, messages: [{ role: "user" as const, content: "Write a loop." }], max_tokens: 48, temperature: 1, seed: 7 };
    const chatFree = await client.chat.completions.create(chatBody);
    const chatPick = pickStop(chatFree.choices[0].message.content ?? "");
    expect(chatPick).not.toBeNull();
    const chatStopped = await client.chat.completions.create({ ...chatBody, stop: chatPick!.stop });
    expect(chatStopped.choices[0].message.content).toBe(chatPick!.before);
    expect(chatStopped.choices[0].finish_reason).toBe("stop");
  });

  it("n choices: seeded choice i equals a single request with seed + i", async () => {
    const body = { model, prompt: "for i in range(", max_tokens: 10, temperature: 1 };
    const multi = await client.completions.create({ ...body, n: 3, seed: 40 });
    expect(multi.choices.map((c) => c.index)).toEqual([0, 1, 2]);
    const single = await client.completions.create({ ...body, seed: 42 });
    expect(multi.choices[2].text).toBe(single.choices[0].text);
    expect(multi.usage!.completion_tokens).toBeGreaterThanOrEqual(3);
    expect(multi.usage!.prompt_tokens).toBe(srv.engine.tokenizer.encode(body.prompt).length);
  });

  it("prompts as string arrays and token ids; echo; logprobs", async () => {
    const ids = srv.engine.tokenizer.encode("x = 1\n");
    const byIds = await client.completions.create({ model, prompt: ids, max_tokens: 6, temperature: 0 });
    const byText = await client.completions.create({ model, prompt: "x = 1\n", max_tokens: 6, temperature: 0 });
    expect(byIds.choices[0].text).toBe(byText.choices[0].text);
    const batch = await client.completions.create({ model, prompt: ["a = ", "b = "], max_tokens: 4, temperature: 0 });
    expect(batch.choices.map((c) => c.index)).toEqual([0, 1]);
    const echo = await client.completions.create({ model, prompt: "x = 1\n", max_tokens: 6, temperature: 0, echo: true });
    expect(echo.choices[0].text).toBe("x = 1\n" + byText.choices[0].text);
    const lp = await client.completions.create({ model, prompt: "x = 1\n", max_tokens: 6, temperature: 0, logprobs: 1 });
    expect(lp.choices[0].logprobs!.tokens!.length).toBe(lp.usage!.completion_tokens);
    for (const v of lp.choices[0].logprobs!.token_logprobs!) expect(v).toBeLessThanOrEqual(0);
  });

  it("fill-in-the-middle with suffix", async () => {
    const r = await client.completions.create({ model, prompt: "def add(a, b):\n    return ", suffix: "\n\nprint(add(1, 2))\n", max_tokens: 8, temperature: 0 });
    const t = srv.engine.tokenizer;
    const expected = 1 + t.encode("def add(a, b):\n    return ").length + 1 + t.encode("\n\nprint(add(1, 2))\n").length + 1;
    expect(r.usage!.prompt_tokens).toBe(expected);
  });

  it("chat logprobs and json_object mode", async () => {
    const r = await client.chat.completions.create({ model, messages: [{ role: "user", content: "hi" }], max_tokens: 5, temperature: 0, logprobs: true, top_logprobs: 1 });
    expect(r.choices[0].logprobs!.content!.length).toBe(r.usage!.completion_tokens);
    const j = await client.chat.completions.create({ model, messages: [{ role: "user", content: "Answer in JSON." }], max_tokens: 32, temperature: 0, response_format: { type: "json_object" } });
    const content = j.choices[0].message.content ?? "";
    // Text before the first brace is dropped; a closed object ends the answer.
    expect(content === "" || content.startsWith("{")).toBe(true);
  });

  it("unknown model: 404 NotFoundError", async () => {
    await expect(client.completions.create({ model: "gpt-5", prompt: "x", max_tokens: 1 })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });
});
