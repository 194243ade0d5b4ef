// `glimpse serve` runs the engine in a worker thread (RemoteEngine). The same
// requests get the same tokens as from an engine on the server's own thread;
// a client that goes away frees the worker's request; bad options still get
// a 400 naming the field; the suffix-document API works across the thread.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { post, startServer, startWorkerServer, SUFFIX, waitFor, type TestServer } from "./helpers.js";

let here: TestServer;
let worker: Awaited<ReturnType<typeof startWorkerServer>>;
beforeAll(async () => {
  [here, worker] = await Promise.all([startServer({ speculativeConfig: SUFFIX }), startWorkerServer({ speculativeConfig: SUFFIX })]);
}, 120_000);
afterAll(async () => {
  await Promise.all([here?.close(), worker?.close()]);
});

const PROMPTS = ["function add(a, b) {\n", '{\n  "name": "demo",\n  "version": ', "import { readFile } from \"node:fs\";\n\n"];

async function streamedText(url: string, body: object): Promise<string> {
  const res = await fetch(url + "/v1/completions", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ ...body, stream: true }) });
  expect(res.status).toBe(200);
  let text = "";
  for (const line of (await res.text()).split("\n")) {
    if (!line.startsWith("data: ") || line === "data: [DONE]") continue;
    text += JSON.parse(line.slice(6)).choices[0]?.text ?? "";
  }
  return text;
}

describe("engine in a worker thread", () => {
  it("answers exactly as the engine on the server's thread, streamed or not", async () => {
    for (const prompt of PROMPTS) {
      const body = { model: "glimpse-test", prompt, max_tokens: 40, temperature: 0 };
      const [a, b] = await Promise.all([post(here.url + "/v1/completions", body), post(worker.url + "/v1/completions", body)]);
      expect(b.status).toBe(200);
      expect(b.json.choices[0].text).toBe(a.json.choices[0].text);
      expect(b.json.usage).toEqual(a.json.usage);
      expect(await streamedText(worker.url, body)).toBe(a.json.choices[0].text);
    }
  });

  it("rejects bad options with a 400 naming the field, before any work", async () => {
    const r = await post(worker.url + "/v1/completions", { model: "glimpse-test", prompt: "x", max_tokens: 5000 });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toMatch(/max_tokens/);
    expect(worker.engine.activeRequestCount).toBe(0);
  });

  it("frees the worker's request when the client goes away mid-stream", async () => {
    const ac = new AbortController();
    const res = await fetch(worker.url + "/v1/completions", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ prompt: "def main():", max_tokens: 1800, ignore_eos: true, stream: true }),
      signal: ac.signal,
    });
    const reader = res.body!.getReader();
    expect((await reader.read()).done).toBe(false);
    expect(worker.engine.activeRequestCount).toBe(1);
    ac.abort();
    await reader.cancel().catch(() => {});
    expect(await waitFor(() => worker.engine.activeRequestCount === 0, 5000)).toBe(true);
  });

  it("adds, lists and removes suffix documents across the thread", async () => {
    const add = await post(worker.url + "/v1/suffix/documents", { name: "a.ts", text: "export const answer = 42;\n" });
    expect(add.status).toBe(201);
    expect(add.json.tokens).toBeGreaterThan(0);
    const list = (await (await fetch(worker.url + "/v1/suffix/documents")).json()) as { data: unknown[] };
    expect(list.data).toEqual([{ object: "suffix.document", name: "a.ts", tokens: add.json.tokens }]);
    expect((await fetch(worker.url + "/v1/suffix/documents/a.ts", { method: "DELETE" })).status).toBe(200);
    expect((await fetch(worker.url + "/v1/suffix/documents/a.ts", { method: "DELETE" })).status).toBe(404);
  });

  it("reports the suffix trees' memory in /metrics", async () => {
    const text = await (await fetch(worker.url + "/metrics")).text();
    const line = text.split("\n").find((l) => l.startsWith("glimpse:suffix_cache_memory_bytes"));
    expect(line, text.slice(0, 400)).toBeDefined();
    expect(Number(line!.split(" ").pop())).toBeGreaterThan(0);
  });
});
