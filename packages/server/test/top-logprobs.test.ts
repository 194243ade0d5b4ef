// OpenAI's logprobs with alternatives, through the official SDK against a live
// server (engine in a worker, as `glimpse serve` runs it): completions
// `logprobs: k` and chat `top_logprobs: k` give the k most likely tokens at
// each position, streamed and not.
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorkerServer, SUFFIX } from "./helpers.js";

let srv: Awaited<ReturnType<typeof startWorkerServer>>;
let client: OpenAI;
const model = "glimpse-test";
beforeAll(async () => {
  srv = await startWorkerServer({ speculativeConfig: SUFFIX });
  client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: "unused", maxRetries: 0 });
}, 120_000);
afterAll(() => srv?.close());

const sortedDown = (xs: number[]) => xs.every((x, i) => i === 0 || xs[i - 1] >= x);

describe("top logprobs", () => {
  it("completions logprobs: 3 lists three alternatives per token, the greedy choice first", async () => {
    const r = await client.completions.create({ model, prompt: "function add(a, b) {", max_tokens: 12, temperature: 0, logprobs: 3 });
    const lp = r.choices[0].logprobs!;
    expect(lp.tokens!.length).toBe(r.usage!.completion_tokens);
    let exact = 0;
    lp.top_logprobs!.forEach((top, i) => {
      const values = Object.values(top);
      // Three entries (fewer only where two tokens decode to the same text).
      expect(values.length).toBeGreaterThanOrEqual(1);
      expect(values.length).toBeLessThanOrEqual(3);
      if (values.length === 3) exact++;
      expect(top[lp.tokens![i]]).toBeCloseTo(lp.token_logprobs![i], 5);
      expect(Math.max(...values)).toBeCloseTo(lp.token_logprobs![i], 5); // greedy: the most likely token
    });
    expect(exact).toBeGreaterThanOrEqual(lp.tokens!.length - 2);
  });

  it("chat top_logprobs: 4 gives four alternatives per token, streamed as whole", async () => {
    const messages = [{ role: "user" as const, content: "Write a function that adds two numbers." }];
    const body = { model, messages, max_tokens: 10, temperature: 0, logprobs: true, top_logprobs: 4 };
    const whole = await client.chat.completions.create(body);
    const content = whole.choices[0].logprobs!.content!;
    expect(content.length).toBeGreaterThan(0);
    for (const entry of content) {
      expect(entry.top_logprobs).toHaveLength(4);
      expect(sortedDown(entry.top_logprobs.map((t) => t.logprob))).toBe(true);
      expect(entry.top_logprobs[0].logprob).toBeCloseTo(entry.logprob, 5);
      for (const t of entry.top_logprobs) expect(t.bytes).toEqual([...Buffer.from(t.token, "utf8")]);
    }
    const stream = await client.chat.completions.create({ ...body, stream: true });
    const streamed: OpenAI.Chat.ChatCompletionTokenLogprob[] = [];
    for await (const chunk of stream) streamed.push(...(chunk.choices[0]?.logprobs?.content ?? []));
    // The same tokens and alternatives (log-probabilities equal up to float rounding: passes differ in width).
    expect(streamed.map((e) => [e.token, ...e.top_logprobs.map((t) => t.token)])).toEqual(content.map((e) => [e.token, ...e.top_logprobs.map((t) => t.token)]));
    streamed.forEach((e, i) => expect(e.logprob).toBeCloseTo(content[i].logprob, 4));
  });

  it("sampled tokens report their own logprob beside the alternatives; top_logprobs above 20 is refused", async () => {
    const r = await client.completions.create({ model, prompt: "import os\n", max_tokens: 16, temperature: 1, seed: 3, logprobs: 2 });
    const lp = r.choices[0].logprobs!;
    lp.top_logprobs!.forEach((top, i) => {
      expect(top[lp.tokens![i]]).toBeCloseTo(lp.token_logprobs![i], 5);
      expect(Object.keys(top).length).toBeLessThanOrEqual(3); // two alternatives, and the sampled token if not among them
    });
    await expect(client.completions.create({ model, prompt: "x", max_tokens: 2, logprobs: 21 })).rejects.toThrow(/400/);
  });
});
