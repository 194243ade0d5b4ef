// Finding 2: one request froze the HTTP thread. A long prompt was tokenized
// (or rendered through the chat template) on the HTTP thread before its
// length was checked: 36 s for 3.9 MB of spaces, with /health and every
// stream stalled. Now a prompt is refused by its byte count before any work,
// and tokenizing runs in tokenizer threads.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { post, startWorkerServer } from "../helpers.js";

let srv: Awaited<ReturnType<typeof startWorkerServer>>;
beforeAll(async () => {
  srv = await startWorkerServer({}, { streamCoalesceMs: 0 });
});
afterAll(() => srv?.close());

/** Milliseconds /health takes to answer. */
async function healthMs(): Promise<number> {
  const t0 = performance.now();
  const r = await fetch(`${srv.url}/health`);
  await r.text();
  return performance.now() - t0;
}

describe("a long prompt does not hold up the HTTP thread", () => {
  it("a prompt over the byte bound is refused at once, naming the field", async () => {
    const t0 = performance.now();
    const r = await post(`${srv.url}/v1/completions`, { prompt: " ".repeat(3_900_000), max_tokens: 4 });
    expect(r.status).toBe(400);
    expect(r.json.error.param).toBe("prompt");
    expect(r.json.error.code).toBe("context_length_exceeded");
    const chat = await post(`${srv.url}/v1/chat/completions`, { messages: [{ role: "user", content: " ".repeat(3_900_000) }], max_tokens: 4 });
    expect(chat.status).toBe(400);
    expect(chat.json.error.param).toBe("messages");
    // Parsing 4 MB of JSON twice, no tokenizing (which took 36 s).
    expect(performance.now() - t0).toBeLessThan(5000);
  });

  it("a body over the parser's limit gets 413", async () => {
    const r = await post(`${srv.url}/v1/completions`, { prompt: "x".repeat(4_300_000) });
    expect(r.status).toBe(413);
  });

  it("while a slow prompt is tokenized, /health answers at once and a stream keeps flowing", async () => {
    // Within the byte bound, but slow to tokenize (runs of spaces are the tokenizer's worst case: seconds),
    // and then too long (2,188 tokens): only tokenizing is measured, not a long prefill in the engine.
    const slow = " ".repeat(70_000);
    const ac = new AbortController();
    const stream = await fetch(`${srv.url}/v1/completions`, {
      method: "POST", headers: { "Content-Type": "application/json" }, signal: ac.signal,
      body: JSON.stringify({ prompt: "def main():", max_tokens: 1800, ignore_eos: true, temperature: 0, stream: true }),
    });
    const reader = stream.body!.getReader();
    const arrivals: number[] = [];
    const reading = (async () => {
      for (;;) {
        const { done } = await reader.read().catch(() => ({ done: true }));
        if (done) return;
        arrivals.push(performance.now());
      }
    })();
    await new Promise((r) => setTimeout(r, 200));

    const t0 = performance.now();
    let finished = false;
    const big = post(`${srv.url}/v1/completions`, { prompt: slow, max_tokens: 4 }).finally(() => (finished = true));
    const probes: number[] = [];
    while (!finished) {
      probes.push(await healthMs());
      await new Promise((r) => setTimeout(r, 50));
    }
    const t1 = performance.now();
    const r = await big;
    expect(r.status).toBe(400);
    expect(r.json.error.code).toBe("context_length_exceeded");
    ac.abort();
    await reading;

    // The slow prompt took seconds; meanwhile nothing on the HTTP thread waited for it.
    expect(t1 - t0).toBeGreaterThan(1000);
    expect(probes.length).toBeGreaterThan(5);
    expect(Math.max(...probes)).toBeLessThan(500);
    const during = arrivals.filter((t) => t >= t0 && t <= t1);
    expect(during.length).toBeGreaterThan(5);
    const gaps = during.slice(1).map((t, i) => t - during[i]);
    expect(Math.max(...gaps)).toBeLessThan(1000);
  });
});
