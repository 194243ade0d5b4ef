// Test servers: a real Engine on the test model, served on 127.0.0.1 port 0.

import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Engine, RemoteEngine, type EngineOptions } from "@glimpse/runtime-cuda";
import { serve, type RunningServer, type ServeOptions } from "../src/server.js";

/** GLIMPSE_MODEL_DIR, else the repository's embedded model. */
export const MODEL_DIR = process.env.GLIMPSE_MODEL_DIR ?? fileURLToPath(new URL("../../../models/glimpse-coder-tiny", import.meta.url));

export const SUFFIX = { method: "suffix" } as const;

export interface TestServer {
  engine: Engine;
  running: RunningServer;
  url: string;
  close(): Promise<void>;
}

export async function startServer(engineOptions: EngineOptions = {}, serveOptions: ServeOptions = {}): Promise<TestServer> {
  return serveWith(await Engine.load(modelDir(), { intraOpThreads: 1, ...engineOptions }), serveOptions);
}

/** As startServer, with the engine in a worker thread (what `glimpse serve` runs). */
export async function startWorkerServer(engineOptions: EngineOptions = {}, serveOptions: ServeOptions = {}): Promise<Omit<TestServer, "engine"> & { engine: RemoteEngine }> {
  return serveWith(await RemoteEngine.load(modelDir(), { intraOpThreads: 1, ...engineOptions }), serveOptions);
}

function modelDir(): string {
  if (!existsSync(MODEL_DIR)) throw new Error(`test model not found at ${MODEL_DIR}; set GLIMPSE_MODEL_DIR`);
  return MODEL_DIR;
}

async function serveWith<E extends Engine | RemoteEngine>(engine: E, serveOptions: ServeOptions) {
  const running = await serve(engine, { port: 0, host: "127.0.0.1", servedModelName: "glimpse-test", ...serveOptions });
  return {
    engine,
    running,
    url: running.url,
    async close() {
      await running.close();
      await engine.close();
    },
  };
}

export async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; json: any }> {
  const res = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: typeof body === "string" || body instanceof Uint8Array ? body : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, json: text ? JSON.parse(text) : null };
}

export async function waitFor(cond: () => boolean, timeoutMs = 5000): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return cond();
}

/** A sampled (seeded) text; returns a stop string whose first occurrence is at p >= 1 and the text before it. */
export function pickStop(text: string): { stop: string; before: string } | null {
  for (let p = 2; p + 2 <= text.length; p++) {
    const s = text.slice(p, p + 2);
    if (/^[\x21-\x7e]{2}$/.test(s) && text.indexOf(s) === p && /^[\t\n\x20-\x7e]*$/.test(text.slice(0, p))) return { stop: s, before: text.slice(0, p) };
  }
  return null;
}

