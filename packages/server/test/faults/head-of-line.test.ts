// Finding 9 of issue 15, head-of-line waits: with every row of the batch held
// by long requests, a short one used to wait for a long one to finish (over
// 10 s). Now it gets a row within a time slice: a long request gives its row
// up and keeps its KV cache, so its output is unchanged.
import { afterAll, beforeAll, expect, it } from "vitest";
import { post, startWorkerServer } from "../helpers.js";

type Srv = Awaited<ReturnType<typeof startWorkerServer>>;
let srv: Srv;
beforeAll(async () => {
  srv = await startWorkerServer(); // maxBatchSize 8, as `glimpse serve` runs by default
}, 120_000);
afterAll(() => srv?.close());

const LONG = ["export function parseArgs(argv) {\n", "class Queue {\n  constructor() {\n"];
const LONG_TOKENS = 320;
const SHORT = { prompt: "const x = ", max_tokens: 8, temperature: 0, ignore_eos: true };

/** Streams a completion; resolves `started` at its first chunk and returns the text and when it ended. */
function streamLong(prompt: string, onFirst: () => void): Promise<{ text: string; endedAt: number }> {
  return (async () => {
    const res = await fetch(`${srv.url}/v1/completions`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ prompt, max_tokens: LONG_TOKENS, temperature: 0, ignore_eos: true, stream: true }),
    });
    let text = "";
    let buffer = "";
    let first = true;
    const decoder = new TextDecoder();
    for await (const bytes of res.body!) {
      buffer += decoder.decode(bytes, { stream: true });
      for (let nl = buffer.indexOf("\n\n"); nl >= 0; nl = buffer.indexOf("\n\n")) {
        const event = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 2);
        if (!event.startsWith("data: ") || event === "data: [DONE]") continue;
        text += JSON.parse(event.slice(6)).choices?.[0]?.text ?? "";
        if (first && text.length > 0) {
          first = false;
          onFirst();
        }
      }
    }
    return { text, endedAt: performance.now() };
  })();
}

it("a short request finishes while eight long ones hold every row; every output equals its run alone", { timeout: 240_000 }, async () => {
  let started = 0;
  let allStarted!: () => void;
  const running = new Promise<void>((res) => (allStarted = res));
  const t0 = performance.now();
  const longs = Array.from({ length: 8 }, (_, i) => streamLong(LONG[i % 2], () => ++started === 8 && allStarted()));
  await running;
  const s0 = performance.now();
  const short = await post(`${srv.url}/v1/completions`, SHORT);
  const shortMs = performance.now() - s0;
  expect(short.status).toBe(200);
  expect(short.json.usage.completion_tokens).toBe(8);
  const done = await Promise.all(longs);
  const firstLongEnd = Math.min(...done.map((d) => d.endedAt)) - t0;
  // The short request did not wait for a long one to end: it took a small share of their time.
  expect(s0 - t0 + shortMs).toBeLessThan(firstLongEnd);
  expect(shortMs).toBeLessThan(firstLongEnd / 3);
  // Greedy outputs are those of each request alone.
  for (const prompt of LONG) {
    const alone = await post(`${srv.url}/v1/completions`, { prompt, max_tokens: LONG_TOKENS, temperature: 0, ignore_eos: true });
    for (const [i, d] of done.entries()) if (LONG[i % 2] === prompt) expect(d.text).toBe(alone.json.choices[0].text);
  }
  expect((await post(`${srv.url}/v1/completions`, SHORT)).json.choices[0].text).toBe(short.json.choices[0].text);
});
