// A client that goes away mid-stream cancels its generation: the runtime's
// active request count drops to zero long before max_tokens would be reached.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServer, SUFFIX, waitFor, type TestServer } from "./helpers.js";

let srv: TestServer;
beforeAll(async () => {
  srv = await startServer({ speculativeConfig: SUFFIX });
});
afterAll(() => srv?.close());

async function openStream(path: string, body: object, ac: AbortController) {
  const res = await fetch(srv.url + path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ ...body, stream: true }),
    signal: ac.signal,
  });
  expect(res.status).toBe(200);
  const reader = res.body!.getReader();
  const first = await reader.read();
  expect(first.done).toBe(false);
  return reader;
}

describe("client disconnect", () => {
  for (const [path, body] of [
    ["/v1/completions", { prompt: "def main():", max_tokens: 1800, ignore_eos: true, temperature: 0 }],
    ["/v1/chat/completions", { messages: [{ role: "user", content: "hi" }], max_tokens: 1800, ignore_eos: true, n: 2 }],
  ] as const) {
    it(`${path}: aborting mid-stream frees the engine's requests`, async () => {
      const generatedBefore = srv.engine.cumulative.outputTokens;
      const ac = new AbortController();
      const reader = await openStream(path, body, ac);
      await reader.read();
      expect(srv.engine.activeRequestCount).toBeGreaterThan(0);
      ac.abort();
      await reader.cancel().catch(() => {});
      expect(await waitFor(() => srv.engine.activeRequestCount === 0, 5000)).toBe(true);
      expect(await waitFor(() => srv.running.ctx.limiter.inFlight === 0, 2000)).toBe(true);
      // Cancelled well before the 1800 tokens each choice would have produced.
      expect(srv.engine.cumulative.outputTokens - generatedBefore).toBeLessThan(1800);
    });
  }

  it("aborting a non-streaming request frees it too", async () => {
    const ac = new AbortController();
    const pending = fetch(srv.url + "/v1/completions", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ prompt: "x", max_tokens: 1800, ignore_eos: true }),
      signal: ac.signal,
    }).catch((e: Error) => e);
    expect(await waitFor(() => srv.engine.activeRequestCount > 0, 5000)).toBe(true);
    ac.abort();
    expect(await pending).toBeInstanceOf(Error);
    expect(await waitFor(() => srv.engine.activeRequestCount === 0, 5000)).toBe(true);
  });

  it("counts the cancelled generations as finished_reason=\"abort\"", async () => {
    const text = await (await fetch(srv.url + "/metrics")).text();
    const aborted = Number(/^vllm:request_success_total\{finished_reason="abort"[^}]*\} (\d+)$/m.exec(text)?.[1]);
    expect(aborted).toBe(4); // 1 + 2 (n = 2) + 1
  });

  it("serves normally afterwards", async () => {
    const r = await fetch(srv.url + "/v1/completions", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ prompt: "x", max_tokens: 3 }),
    });
    expect(r.status).toBe(200);
  });
});
