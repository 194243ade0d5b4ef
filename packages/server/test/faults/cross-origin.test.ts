// Finding 7: browsers as attackers. CORS denied by default, a cross-origin
// `text/plain` POST refused, DNS rebinding refused by the Host check on the
// keyless default, an empty API key refused at start, malformed URLs and
// unreadable bodies answered 4xx (never 500, never an error-level log).

import { request } from "node:http";
import { Writable } from "node:stream";
import { Engine } from "@glimpse/runtime-cuda";
import pino from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serve, type RunningServer } from "../../src/server.js";
import { MODEL_DIR, SUFFIX } from "../helpers.js";
import { startServe, within } from "./serve-child.js";

const DOCS = "/v1/suffix/documents";

/** A raw request (fetch cannot set Host), headers exactly as given. */
function raw(url: string, method: string, path: string, headers: Record<string, string>, body?: string): Promise<{ status: number; headers: Record<string, unknown>; text: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method, path, headers, setHost: !("Host" in headers) }, (res) => {
      let text = "";
      res.on("data", (d) => (text += d));
      res.on("end", () => resolve({ status: res.statusCode!, headers: res.headers, text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("cross-origin requests", () => {
  let engine: Engine;
  let open: RunningServer;
  let allowing: RunningServer;
  let keyed: RunningServer;
  const logs: string[] = [];
  beforeAll(async () => {
    engine = await Engine.load(MODEL_DIR, { speculativeConfig: SUFFIX, intraOpThreads: 1 });
    const logger = pino({ level: "info" }, new Writable({ write: (c, _e, cb) => (logs.push(String(c)), cb()) }));
    open = await serve(engine, { port: 0, logger });
    allowing = await serve(engine, { port: 0, allowedOrigins: ["http://app.example"] });
    keyed = await serve(engine, { port: 0, apiKey: "k" });
  });
  afterAll(async () => {
    await open?.close();
    await allowing?.close();
    await keyed?.close();
    await engine?.close();
  });

  it("a web page's text/plain POST (no preflight) is refused, and nothing is added", async () => {
    const r = await raw(open.url, "POST", DOCS, { Origin: "http://evil.example", "Content-Type": "text/plain" }, JSON.stringify({ name: "pwn", text: "x" }));
    expect(r.status).toBe(403);
    expect(r.headers["access-control-allow-origin"]).toBeUndefined();
    expect((await raw(open.url, "GET", DOCS, {})).text).not.toContain("pwn");
  });

  it("preflights are refused by default; an allowed origin gets CORS headers", async () => {
    const pre = { Origin: "http://app.example", "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type" };
    const denied = await raw(open.url, "OPTIONS", "/v1/completions", pre);
    expect(denied.status).toBe(403);
    expect(denied.headers["access-control-allow-origin"]).toBeUndefined();
    const ok = await raw(allowing.url, "OPTIONS", "/v1/completions", pre);
    expect(ok.status).toBe(204);
    expect(ok.headers["access-control-allow-origin"]).toBe("http://app.example");
    const post = await raw(allowing.url, "POST", DOCS, { Origin: "http://app.example", "Content-Type": "application/json" }, JSON.stringify({ name: "ok", text: "x" }));
    expect(post.status).toBe(201);
    expect(post.headers["access-control-allow-origin"]).toBe("http://app.example");
    expect((await raw(allowing.url, "GET", "/health", { Origin: "http://other.example" })).status).toBe(403);
  });

  it("JSON routes take application/json only (415)", async () => {
    const body = JSON.stringify({ prompt: "x", max_tokens: 2 });
    for (const type of ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"]) {
      expect((await raw(open.url, "POST", "/v1/completions", { "Content-Type": type }, body)).status).toBe(415);
    }
    expect((await raw(open.url, "POST", "/v1/completions", { "Content-Type": "application/json; charset=utf-8" }, body)).status).toBe(200);
  });

  it("DNS rebinding: a Host that does not name the server is refused on the keyless default", async () => {
    const port = new URL(open.url).port;
    expect((await raw(open.url, "GET", "/v1/models", { Host: `rebind.evil.example:${port}` })).status).toBe(403);
    expect((await raw(open.url, "POST", DOCS, { Host: `rebind.evil.example:${port}`, "Content-Type": "application/json" }, JSON.stringify({ name: "r", text: "x" }))).status).toBe(403);
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, "localhost"]) expect((await raw(open.url, "GET", "/v1/models", { Host: host })).status).toBe(200);
    // With a key, the key is the protection (and any name may front the server).
    expect((await raw(keyed.url, "GET", "/v1/models", { Host: "api.example.com", Authorization: "Bearer k" })).status).toBe(200);
  });

  it("malformed URLs and unreadable bodies are 4xx, logged below error level", async () => {
    logs.length = 0;
    for (const path of ["/v1/models/%ff", "/v1/models/%", `${DOCS}/%E0%A4%A`]) {
      const r = await raw(open.url, path.startsWith(DOCS) ? "DELETE" : "GET", path, {});
      expect(r.status, path).toBe(400);
      expect(JSON.parse(r.text).error.message).toContain("URL");
    }
    const gz = await raw(open.url, "POST", "/v1/completions", { "Content-Type": "application/json", "Content-Encoding": "bogus" }, "{}");
    expect(gz.status).toBe(415);
    const errors = logs.map((l) => JSON.parse(l) as { level: number }).filter((l) => l.level >= 50);
    expect(errors).toEqual([]);
  });
});

describe("an empty API key", () => {
  it("GLIMPSE_API_KEY='' is refused at start, before the model loads", async () => {
    const child = startServe(["--port", "0"], { GLIMPSE_API_KEY: "" });
    const { code } = await within(child.exited, 60_000, "exit");
    expect(code).toBe(1);
    expect(child.output()).toContain("GLIMPSE_API_KEY is set but empty");
    expect(child.output()).not.toContain("engine loaded");
  });
});
