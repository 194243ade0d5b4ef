// The language server over stdio, driven by a real JSON-RPC client
// (vscode-jsonrpc), against a live Glimpse server on 127.0.0.1 serving the
// embedded model (GLIMPSE_MODEL_DIR for another).

import { createServer } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LocalServer } from "../src/extension/local-server.js";
import { contextWindow } from "../src/server/context-window.js";
import { NEXT_LINE_MAX_TOKENS, NEXT_LINE_STOP, nextLineSuggestion, postprocess, stopsFor, wantsNextLine } from "../src/server/postprocess.js";
import { DEFAULT_SETTINGS } from "../src/shared/protocol.js";
import { CancellationTokenSource, modelDir, packageDir, rawCompletion, sleep, startGlimpseServer, startLsp, type GlimpseServer, type LspSession } from "./harness.js";

const TS_URI = "file:///work/demo/math.ts";
const TS_TEXT = "export function add(a: number, b: number): number {\n  return \n}\n";
const TS_CURSOR = TS_TEXT.indexOf("return ") + "return ".length;

const JSON_URI = "file:///work/demo/package.json";
const JSON_TEXT = '{\n  "id": 42,\n  "name": \n}\n';
const JSON_CURSOR = JSON_TEXT.indexOf('"name": ') + '"name": '.length;

let server: GlimpseServer;
const sessions: LspSession[] = [];

async function lsp(settings: Record<string, unknown> = {}): Promise<LspSession> {
  const s = await startLsp({ serverUrl: server.url, debounceMs: 0, maxTokens: 32, workspaceContext: false, ...settings });
  sessions.push(s);
  return s;
}

/** What the language server should answer: the same request made directly, post-processed. */
async function expected(text: string, offset: number, languageId: string, maxTokens = 32): Promise<string> {
  const ctx = contextWindow(text, offset, DEFAULT_SETTINGS.prefixChars, DEFAULT_SETTINGS.suffixChars);
  // In JSON documents the language server sends the text before the cursor as json_prefix (a constrained completion).
  const jsonPrefix = languageId === "json" ? { json_prefix: text.slice(0, offset) } : {};
  const ask = (max: number, stop: string[]) => rawCompletion(server.url, { prompt: ctx.prefix, suffix: ctx.suffix, max_tokens: max, stop, ...jsonPrefix });
  const raw = await ask(maxTokens, stopsFor(ctx, languageId));
  const suggestion = postprocess(raw.text, ctx, languageId);
  // The model ended the line at once: the language server offers the next line.
  if (suggestion || !wantsNextLine(raw.text, ctx, languageId)) return suggestion;
  return nextLineSuggestion((await ask(Math.min(maxTokens, NEXT_LINE_MAX_TOKENS), NEXT_LINE_STOP)).text, ctx, languageId);
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  let sum = 0;
  for (const line of text.split("\n")) if (line.startsWith(name)) sum += Number(line.split(" ").pop());
  return sum;
}

beforeAll(async () => {
  server = await startGlimpseServer();
}, 90_000);

afterAll(async () => {
  await Promise.all(sessions.map((s) => s.close()));
  await server?.stop();
});

describe("inline completion over LSP", () => {
  it("completes a TypeScript document with what the Glimpse server generates", async () => {
    const s = await lsp();
    await s.open(TS_URI, "typescript", TS_TEXT);
    const r = await s.inline(TS_URI, TS_CURSOR);
    const want = await expected(TS_TEXT, TS_CURSOR, "typescript");
    expect(want).not.toBe("");
    expect(r?.items).toHaveLength(1);
    expect(r!.items[0].insertText).toBe(want);
    // Single-line policy mid-function: no newline.
    expect(want).not.toContain("\n");
    expect(r!.items[0].command?.command).toBe("glimpse.accepted");
    const st = await s.stats();
    expect(st.stats.requests).toBe(1);
    expect(st.stats.lastLatencyMs).toBeGreaterThan(0);
  });

  it("completes a JSON value and stops at its end", async () => {
    const s = await lsp();
    await s.open(JSON_URI, "json", JSON_TEXT);
    const r = await s.inline(JSON_URI, JSON_CURSOR);
    const want = await expected(JSON_TEXT, JSON_CURSOR, "json");
    expect(want).not.toBe("");
    expect(r?.items).toHaveLength(1);
    const got = r!.items[0].insertText;
    expect(got).toBe(want);
    // One value: no newline, and it does not close the enclosing object (the text after the cursor does).
    expect(got).not.toContain("\n");
    let depth = 0;
    for (const ch of got.replace(/"(?:[^"\\]|\\.)*"/g, "")) {
      if (ch === "{" || ch === "[") depth++;
      if (ch === "}" || ch === "]") depth--;
      expect(depth).toBeGreaterThanOrEqual(0);
    }
  });
});

describe("cancellation", () => {
  it("a cancelled request during the debounce never reaches the server", async () => {
    // A long debounce, so that a busy machine cannot let it expire before the cancel is read.
    const s = await lsp({ debounceMs: 1500 });
    await s.open(TS_URI, "typescript", TS_TEXT);
    const cts = new CancellationTokenSource();
    const pending = s.inline(TS_URI, TS_CURSOR, cts).catch((e: { code?: number }) => ({ cancelled: e.code }));
    await sleep(50);
    cts.cancel();
    const r = await pending;
    // Either an empty answer or JSON-RPC RequestCancelled (-32800): never a suggestion.
    expect(r === null || (r as { cancelled?: number }).cancelled === -32800).toBe(true);
    await sleep(1600);
    const st = await s.stats();
    expect(st.stats.requests).toBe(0);
    expect(st.stats.cancelled).toBe(1);
  });

  it("a newer request for the same document supersedes the older one", async () => {
    const s = await lsp({ debounceMs: 200 });
    await s.open(TS_URI, "typescript", TS_TEXT);
    const first = s.inline(TS_URI, TS_CURSOR - 1);
    await sleep(20);
    const second = s.inline(TS_URI, TS_CURSOR);
    expect(await first).toBeNull();
    const r = await second;
    expect(r?.items[0].insertText).toBe(await expected(TS_TEXT, TS_CURSOR, "typescript"));
    expect((await s.stats()).stats.requests).toBe(1);
  });

  it("cancelling a request in flight aborts it on the server", async () => {
    // A server that decodes one request at a time, busy with a long request (ignore_eos), so the
    // language server's request is certainly still in the server when it is cancelled. The engine lets a
    // request with at most a quarter of the tokens left of a running one take its row (time slices): ours asks
    // 200 tokens, more than a quarter of the blocker's 400, so it waits behind the blocker, and the blocker is in
    // the engine before ours is sent, so ours (fewer tokens left) is not admitted first either.
    const busy = await startGlimpseServer(["--max-batch-size", "1"]);
    try {
      const s = await startLsp({ serverUrl: busy.url, debounceMs: 0, maxTokens: 200, workspaceContext: false });
      sessions.push(s);
      await s.open(TS_URI, "typescript", TS_TEXT);
      const health = async () => (await (await fetch(`${busy.url}/health`)).json()) as { requests_in_flight: number; engine_active_requests: number };
      const blocker = rawCompletion(busy.url, { prompt: "// a long one\n", max_tokens: 400, ignore_eos: true });
      await expect.poll(async () => (await health()).engine_active_requests, { timeout: 10_000, interval: 5 }).toBe(1);
      const cts = new CancellationTokenSource();
      const pending = s.inline(TS_URI, TS_CURSOR, cts).catch(() => null);
      // Both requests in the engine: the blocker decoding, ours waiting for its turn (in the HTTP server alone,
      // ours could still be on its way to the engine when cancelled, and never be counted as aborted there).
      let h = await health();
      for (let i = 0; i < 500 && (h.requests_in_flight < 2 || h.engine_active_requests < 2); i++) h = ((await sleep(5)), await health());
      expect(h.requests_in_flight).toBe(2);
      expect(h.engine_active_requests).toBe(2);
      cts.cancel();
      expect(await pending).toBeNull();
      const { json } = await blocker;
      expect((json.usage as { completion_tokens: number }).completion_tokens).toBe(400);
      // Ours was aborted in the server (it counts it as finished_reason "abort"); only the blocker generated.
      // The abort crosses the language server, the socket and the engine's worker thread: it may be counted a
      // moment after the blocker's answer arrives, so the counters are polled (a bounded wait).
      await expect.poll(() => metric(busy.url, 'vllm:request_success_total{finished_reason="abort"'), { timeout: 10_000, interval: 50 }).toBe(1);
      expect(await metric(busy.url, 'vllm:request_success_total{finished_reason="length"')).toBe(1);
      expect(await metric(busy.url, "vllm:generation_tokens_total")).toBe(400);
      await expect.poll(async () => (await health()).requests_in_flight, { timeout: 10_000, interval: 50 }).toBe(0);
      h = await health();
      expect(h.engine_active_requests).toBe(0);
      const st = await s.stats();
      expect(st.stats.cancelled).toBe(1);
      expect(st.stats.requests).toBe(0);
    } finally {
      await busy.stop();
    }
  });
});

describe("cache", () => {
  it("answers a repeated context from the cache, and reuses a suggestion typed through", async () => {
    const s = await lsp();
    await s.open(TS_URI, "typescript", TS_TEXT);
    const a = (await s.inline(TS_URI, TS_CURSOR))!.items[0].insertText;
    expect(a.length).toBeGreaterThanOrEqual(2);
    const again = await s.inline(TS_URI, TS_CURSOR);
    expect(again!.items[0].insertText).toBe(a);
    let st = await s.stats();
    expect(st.stats.requests).toBe(1);
    expect(st.stats.cacheHits).toBe(1);
    // The user types the first character of the suggestion: the rest shows with no request.
    await s.insert(TS_URI, TS_CURSOR, a[0]);
    const rest = await s.inline(TS_URI, TS_CURSOR + 1);
    expect(rest!.items[0].insertText).toBe(a.slice(1));
    st = await s.stats();
    expect(st.stats.requests).toBe(1);
    expect(st.stats.cacheHits).toBe(2);
  });

  it("pre-fetches the next suggestion after an accept", async () => {
    const s = await lsp();
    await s.open(TS_URI, "typescript", TS_TEXT);
    const item = (await s.inline(TS_URI, TS_CURSOR))!.items[0];
    // The editor runs the item's command on accept (workspace/executeCommand in LSP terms).
    await s.conn.sendRequest("workspace/executeCommand", { command: item.command!.command, arguments: item.command!.arguments });
    await s.insert(TS_URI, TS_CURSOR, item.insertText);
    // The pre-fetch is a second server request; wait for it.
    for (let i = 0; i < 200 && (await s.stats()).stats.requests < 2; i++) await sleep(20);
    let st = await s.stats();
    expect(st.stats.accepted).toBe(1);
    expect(st.stats.requests).toBe(2);
    const hitsBefore = st.stats.cacheHits;
    await s.inline(TS_URI, TS_CURSOR + item.insertText.length);
    st = await s.stats();
    expect(st.stats.requests).toBe(2);
    expect(st.stats.cacheHits).toBe(hitsBefore + 1);
  });
});

describe("server offline", () => {
  it("gives empty results and one status message, not an error storm", async () => {
    // A port nothing listens on.
    const port = await new Promise<number>((done) => {
      const srv = createServer().listen(0, "127.0.0.1", () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => done(p));
      });
    });
    const s = await startLsp({ serverUrl: `http://127.0.0.1:${port}`, debounceMs: 0 });
    sessions.push(s);
    await s.open(TS_URI, "typescript", TS_TEXT);
    const results = [];
    for (let i = 0; i < 20; i++) results.push(await s.inline(TS_URI, TS_CURSOR - (i % 5)));
    expect(results.every((r) => r === null)).toBe(true);
    await sleep(100);
    const st = await s.stats();
    expect(st.state).toBe("offline");
    // At most one failed completion request (then back-off; health probes only).
    expect(st.stats.errors).toBeLessThanOrEqual(1);
    const offline = s.statuses.filter((p) => p.state === "offline");
    expect(offline.length).toBeGreaterThanOrEqual(1);
    expect(offline[0].message).toMatch(/cannot reach the Glimpse server/);
    // One warning in the log, not one per keystroke.
    expect(s.logs.filter((l) => /offline|not reachable/.test(l.message)).length).toBe(1);
  });
});

describe("workspace context", () => {
  it("sends open documents to the server's suffix context and removes them at shutdown", async () => {
    const s = await startLsp({ serverUrl: server.url, debounceMs: 0, workspaceContext: true });
    await s.open(TS_URI, "typescript", TS_TEXT);
    await s.open(JSON_URI, "json", JSON_TEXT);
    const names = async () =>
      ((await (await fetch(`${server.url}/v1/suffix/documents`)).json()) as { data: { name: string; tokens: number }[] }).data;
    let docs: { name: string; tokens: number }[] = [];
    for (let i = 0; i < 100; i++) {
      docs = await names();
      if (docs.length >= 2) break;
      await sleep(20);
    }
    expect(docs.map((d) => d.name).sort()).toEqual([`lsp:${JSON_URI}`, `lsp:${TS_URI}`].sort());
    expect(docs.every((d) => d.tokens > 0)).toBe(true);
    expect((await s.stats()).stats.contextDocuments).toBe(2);
    await s.close();
    expect(await names()).toEqual([]);
  });
});

describe("local server launcher", () => {
  it("finds the CLI from the extension's folder and starts glimpse serve on a free port", async () => {
    const local = new LocalServer();
    const lines: string[] = [];
    const url = await local.start({ cliPath: "", modelDir: modelDir(), searchRoots: [packageDir], speculativeConfig: '{"method": "suffix"}', log: (l) => lines.push(l) });
    try {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const health = (await (await fetch(`${url}/health`)).json()) as { status: string; speculative: string };
      expect(health).toMatchObject({ status: "ok", speculative: "suffix" });
      expect(lines[0]).toMatch(/packages\/server\/bin\/glimpse\.js serve/);
    } finally {
      local.stop();
    }
  });
});
