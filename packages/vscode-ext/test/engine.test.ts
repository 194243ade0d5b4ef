// The completion engine's request logic (debounce, supersede, abort, joining,
// pre-fetch, back-off) against a scripted HTTP server that answers like the
// Glimpse API, so the timing is under the test's control. The same behaviour
// against the real server is in lsp.test.ts.

import { createServer, type Server } from "node:http";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { DEFAULT_SETTINGS, type GlimpseSettings, type StatusParams } from "../src/shared/protocol.js";
import { InlineCompletionEngine, type CancelToken } from "../src/server/inline-completion.js";
import { Status } from "../src/server/status.js";
import { WorkspaceContext } from "../src/server/workspace-context.js";

interface Seen {
  prompt: string;
  suffix: string;
  aborted: boolean;
}

let server: Server;
let url = "";
let seen: Seen[] = [];
/** The stop strings of each completion request, in order. */
let seenStops: (string[] | undefined)[] = [];
let delayMs = 50;
let maxChars = Infinity;
let answer: (prompt: string) => string = () => "";
const documents = new Map<string, string>();

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      if (req.url === "/health") return void res.end(JSON.stringify({ status: "ok" }));
      if (req.url === "/v1/suffix/documents" && req.method === "POST") {
        const { name, text } = JSON.parse(body);
        documents.set(name, text);
        return void res.writeHead(201).end(JSON.stringify({ name, tokens: text.length }));
      }
      if (req.url?.startsWith("/v1/suffix/documents/") && req.method === "DELETE") {
        documents.delete(decodeURIComponent(req.url.slice("/v1/suffix/documents/".length)));
        return void res.end("{}");
      }
      if (req.url !== "/v1/completions") {
        return void res.writeHead(404).end(JSON.stringify({ error: { message: "not found", type: "not_found_error" } }));
      }
      const r = JSON.parse(body);
      if (r.prompt.length + r.suffix.length > maxChars) {
        return void res.writeHead(400).end(JSON.stringify({ error: { message: `prompt: the prompt is ${r.prompt.length + r.suffix.length} tokens, but this model allows at most ${maxChars + 100} tokens for prompt and completion together`, type: "invalid_request_error" } }));
      }
      seenStops.push(r.stop);
      const s: Seen = { prompt: r.prompt, suffix: r.suffix, aborted: false };
      seen.push(s);
      res.on("close", () => {
        if (!res.writableFinished) s.aborted = true;
      });
      setTimeout(() => {
        if (s.aborted) return;
        res.setHeader("content-type", "application/json");
        res.end(JSON.stringify({
          choices: [{ index: 0, text: answer(r.prompt), finish_reason: "stop" }],
          usage: { completion_tokens: 5 },
          metrics: { tokens_per_second: 500, speculative_decoding: { num_draft_tokens: 10, num_accepted_tokens: 8 } },
        }));
      }, delayMs);
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

beforeEach(() => {
  seen = [];
  seenStops = [];
  delayMs = 50;
  maxChars = Infinity;
  answer = (p) => (p.endsWith("return ") ? "a + b;" : p.endsWith("a + b;") ? "" : "x");
  documents.clear();
});

function token(): CancelToken & { cancel(): void } {
  let cancelled = false;
  const listeners: (() => void)[] = [];
  return {
    get isCancellationRequested() {
      return cancelled;
    },
    onCancellationRequested(l) {
      listeners.push(l);
      return { dispose() {} };
    },
    cancel() {
      cancelled = true;
      listeners.forEach((l) => l());
    },
  };
}

function engine(settings: Partial<GlimpseSettings> = {}) {
  const statuses: StatusParams[] = [];
  const status = new Status((p) => statuses.push(p), 200, 1000);
  const e = new InlineCompletionEngine({ ...DEFAULT_SETTINGS, serverUrl: url, debounceMs: 0, ...settings }, status);
  return { e, status, statuses };
}

const TEXT = "function add(a, b) {\n  return \n}\n";
const CURSOR = TEXT.indexOf("return ") + 7;
const doc = (offset = CURSOR, text = TEXT) => ({ uri: "file:///a.js", languageId: "javascript", text, offset });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("InlineCompletionEngine", () => {
  it("sends prefix and suffix, and answers the post-processed text", async () => {
    const { e } = engine();
    const s = await e.provide(doc(), token());
    expect(s?.text).toBe("a + b;");
    expect(s?.source).toBe("server");
    expect(seen).toHaveLength(1);
    expect(seen[0].prompt).toBe(TEXT.slice(0, CURSOR));
    expect(seen[0].suffix).toBe(TEXT.slice(CURSOR));
  });

  it("debounces: a cancel during the wait sends nothing", async () => {
    const { e, status } = engine({ debounceMs: 100 });
    const t = token();
    const p = e.provide(doc(), t);
    await sleep(20);
    t.cancel();
    expect(await p).toBeNull();
    expect(seen).toHaveLength(0);
    expect(status.stats.cancelled).toBe(1);
  });

  it("the debounce counts from the keystroke, and is skipped for the first keystroke after a pause", async () => {
    const { e } = engine({ debounceMs: 300 });
    // Typing a burst (keys 160 ms apart: the next may come 240 ms after), 40 ms after the last key: waits 200 ms more.
    let t = Date.now();
    await e.provide({ ...doc(), editIntervalMs: 160, msSinceEdit: 40 }, token());
    const burst = Date.now() - t;
    expect(burst).toBeGreaterThanOrEqual(190);
    expect(burst).toBeLessThan(290 + delayMs);
    // After a pause (the previous key 2 s before): no wait beyond the server's answer.
    t = Date.now();
    await e.provide({ ...doc(CURSOR - 1), editIntervalMs: 2000, msSinceEdit: 60 }, token());
    expect(Date.now() - t).toBeLessThan(200);
    expect(seen).toHaveLength(2);
  });

  it("a cancel in flight aborts the HTTP request (the server sees the connection close)", async () => {
    delayMs = 300;
    const { e } = engine();
    const t = token();
    const p = e.provide(doc(), t);
    await sleep(50);
    t.cancel();
    expect(await p).toBeNull();
    await sleep(80); // past the grace period in which a repeated request could still join
    expect(seen).toHaveLength(1);
    expect(seen[0].aborted).toBe(true);
  });

  it("one request in flight per document: a newer one aborts the older", async () => {
    delayMs = 200;
    const { e } = engine();
    const first = e.provide(doc(CURSOR - 1), token());
    await sleep(30);
    const second = e.provide(doc(CURSOR), token());
    expect(await first).toBeNull();
    expect((await second)?.text).toBe("a + b;");
    expect(seen.map((s) => s.aborted)).toEqual([true, false]);
  });

  it("a repeated request for the context in flight joins it instead of sending another", async () => {
    delayMs = 150;
    const { e } = engine();
    const t1 = token();
    const first = e.provide(doc(), t1);
    await sleep(30);
    // The editor cancels and asks again for the same position (it does this on cursor events).
    t1.cancel();
    const second = await e.provide(doc(), token());
    expect(await first).toBeNull();
    expect(second?.text).toBe("a + b;");
    expect(seen).toHaveLength(1);
    expect(seen[0].aborted).toBe(false);
  });

  it("typed-through and exact cache hits need no request", async () => {
    const { e, status } = engine();
    await e.provide(doc(), token());
    const typed = TEXT.slice(0, CURSOR) + "a " + TEXT.slice(CURSOR);
    const s = await e.provide(doc(CURSOR + 2, typed), token());
    expect(s).toMatchObject({ text: "+ b;", source: "typed-through" });
    expect((await e.provide(doc(), token()))?.source).toBe("cache");
    expect(seen).toHaveLength(1);
    expect(status.stats.cacheHits).toBe(2);
  });

  it("an empty answer at the end of a line becomes the next line (one more request, without the newline stop)", async () => {
    const text = "const a = add(b, x";
    answer = (p) => (p === text && seenStops.at(-1)?.includes("\n") === false ? "\nconst c = a;\nreturn c;" : "");
    const { e } = engine();
    const s = await e.provide({ uri: "file:///n.js", languageId: "javascript", text, offset: text.length }, token());
    expect(s?.text).toBe("\nconst c = a;");
    expect(seen.map((x) => x.prompt)).toEqual([text, text]);
    expect(seenStops).toEqual([["\n"], ["\n\n"]]);
    // Cached for the context like any answer: asking again sends nothing.
    expect((await e.provide({ uri: "file:///n.js", languageId: "javascript", text, offset: text.length }, token()))?.source).toBe("cache");
    expect(seen).toHaveLength(2);
  });

  it("pre-fetches after an accept, and the editor's request joins or hits it", async () => {
    const { e, status } = engine();
    const s = await e.provide(doc(), token());
    e.accepted(s!.id);
    expect(status.stats.accepted).toBe(1);
    await e.idle();
    // The model ends the line there (""), so the pre-fetch asks for the next line too (the mock has none).
    expect(seen.map((x) => x.prompt)).toEqual([TEXT.slice(0, CURSOR), TEXT.slice(0, CURSOR) + "a + b;", TEXT.slice(0, CURSOR) + "a + b;"]);
    const after = TEXT.slice(0, CURSOR) + "a + b;" + TEXT.slice(CURSOR);
    answer = () => "SHOULD NOT BE ASKED";
    expect(await e.provide(doc(CURSOR + 6, after), token())).toBeNull();
    expect(seen).toHaveLength(3);
  });

  it("offline: one failure, then no requests until a probe succeeds", async () => {
    const { e, status, statuses } = engine({ serverUrl: "http://127.0.0.1:9" });
    const messages: string[] = [];
    e.onOfflineMessage = (m) => messages.push(m);
    for (let i = 0; i < 10; i++) expect(await e.provide(doc(CURSOR - (i % 3)), token())).toBeNull();
    expect(status.current).toBe("offline");
    expect(status.stats.errors).toBe(1);
    expect(messages).toHaveLength(1);
    expect(statuses.filter((p) => p.state === "offline").length).toBeGreaterThanOrEqual(1);
    // The server comes back (here: the settings point at a live one).
    e.configure({ ...DEFAULT_SETTINGS, serverUrl: url, debounceMs: 0 });
    expect(await e.probe()).toBe(true);
    expect(status.current).toBe("ready");
    expect((await e.provide(doc(), token()))?.text).toBe("a + b;");
  });

  it("shrinks the window when the server says the prompt is too long for the model", async () => {
    maxChars = 500;
    const { e, status } = engine({ maxTokens: 32 });
    const long = "// filler line\n".repeat(400) + TEXT;
    const s = await e.provide(doc(long.length - TEXT.length + CURSOR, long), token());
    expect(s?.text).toBe("a + b;");
    expect(seen).toHaveLength(1);
    expect(seen[0].prompt.length + seen[0].suffix.length).toBeLessThanOrEqual(500);
    // Later requests start small enough.
    await e.provide(doc(long.length - TEXT.length + CURSOR - 1, long), token());
    expect(seen).toHaveLength(2);
    expect(status.stats.errors).toBe(0);
  });

  it("HTTP errors are reported in the status, without a storm", async () => {
    const { e, status } = engine({ serverUrl: url + "/nothing-here" });
    expect(await e.provide(doc(), token())).toBeNull();
    expect(await e.provide(doc(CURSOR - 1), token())).toBeNull();
    // A 404 is the server answering: not offline, each request counted as an error.
    expect(status.current).toBe("ready");
    expect(status.stats.errors).toBe(2);
  });
});

describe("WorkspaceContext", () => {
  it("pushes opened documents at once, changes after a quiet period, and evicts the oldest", async () => {
    const { e } = engine();
    const w = new WorkspaceContext(() => e.glimpse, { syncDelayMs: 50, maxDocuments: 2 });
    w.opened("file:///a.ts", () => "A");
    w.changed("file:///a.ts", () => "A"); // the change event that follows an open
    await w.flush();
    expect(documents.get("lsp:file:///a.ts")).toBe("A");
    w.changed("file:///a.ts", () => "A1");
    w.changed("file:///a.ts", () => "A2");
    await sleep(100);
    await w.flush();
    expect(documents.get("lsp:file:///a.ts")).toBe("A2");
    w.opened("file:///b.ts", () => "B");
    w.closed("file:///a.ts");
    await sleep(5);
    w.opened("file:///c.ts", () => "C");
    await w.flush();
    await sleep(20);
    // a.ts was closed and is the least recent: evicted.
    expect([...documents.keys()].sort()).toEqual(["lsp:file:///b.ts", "lsp:file:///c.ts"]);
    await w.clear();
    expect(documents.size).toBe(0);
  });

  it("hashes names longer than the API allows", () => {
    const long = "file:///" + "x".repeat(300);
    expect(WorkspaceContext.nameOf(long)).toMatch(/^lsp:sha256:[0-9a-f]{64}$/);
  });
});
