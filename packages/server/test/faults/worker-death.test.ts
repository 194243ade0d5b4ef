// Finding 1: the engine worker dies (here for real: out of memory under a
// small worker heap limit, while documents are added). No request may hang,
// /health must say why, no admission slot may leak, and `glimpse serve` must
// exit non-zero so that its supervisor restarts it from the last snapshot.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RemoteEngine } from "@glimpse/runtime-cuda";
import { afterAll, describe, expect, it } from "vitest";
import { serve } from "../../src/server.js";
import { MODEL_DIR, post, SUFFIX } from "../helpers.js";
import { noisyText, startServe, within } from "./serve-child.js";

const dir = mkdtempSync(join(tmpdir(), "glimpse-worker-death-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const DOCS = "/v1/suffix/documents";
// Enough for the model and small requests, far too little for large suffix documents.
const HEAP_MB = 16;

/** Adds large documents until one fails; returns that answer (bounded: 10 documents). */
async function uploadUntilDeath(url: string): Promise<{ status: number; json: any }> {
  for (let i = 0; i < 10; i++) {
    const r = await post(url + DOCS, { name: `big-${i}.txt`, text: noisyText(600_000, i + 1) }).catch(() => ({ status: 0, json: null }));
    if (r.status === 0 || r.status >= 500) return r;
    expect(r.status, JSON.stringify(r.json)).toBeLessThan(300);
  }
  throw new Error("the engine worker survived 10 large documents");
}

describe("engine worker death (out of memory)", () => {
  it("fails in-flight and new requests with 503, reports it on /health, leaks no slot", async () => {
    const engine = await RemoteEngine.load(MODEL_DIR, { speculativeConfig: SUFFIX, intraOpThreads: 1 }, { resourceLimits: { maxOldGenerationSizeMb: HEAP_MB } });
    const running = await serve(engine, { port: 0, host: "127.0.0.1", servedModelName: "glimpse-test", maxConcurrency: 16 });
    const url = running.url;
    try {
      expect((await fetch(url + "/health")).status).toBe(200);
      // Generations keep running beside the uploads (the fatal upload itself is a request in flight).
      let dead = false;
      let outstanding = 0;
      const inFlight: Promise<{ status: number; json: any }>[] = [];
      const traffic = (async () => {
        while (!dead && inFlight.length < 200) {
          if (outstanding < 1) {
            outstanding++;
            inFlight.push(post(url + "/v1/completions", { prompt: "x", max_tokens: 200, ignore_eos: true, temperature: 0 }).finally(() => outstanding--));
          }
          await new Promise((r) => setTimeout(r, 500));
        }
      })();
      const fatal = await uploadUntilDeath(url);
      dead = true;
      await traffic;
      expect(fatal.status).toBe(503);
      expect(fatal.json.error.message).toMatch(/out of memory/);

      // Every request already sent settles promptly: done before the death, or 503 naming the cause.
      const settled = await within(Promise.all(inFlight), 15_000, "in-flight requests");
      for (const r of settled) {
        expect([200, 503]).toContain(r.status);
        if (r.status === 503) expect(r.json.error.message).toMatch(/engine is unavailable: .*out of memory/);
      }

      const health = await within(fetch(url + "/health"), 5000, "/health");
      expect(health.status).toBe(503);
      expect(await health.json()).toMatchObject({ status: "engine_failed", reason: expect.stringMatching(/out of memory/) });

      // More requests than there are slots: each fails at once (503, never 429: nothing leaked), none hangs.
      const after = await within(Promise.all(Array.from({ length: 40 }, () => post(url + "/v1/completions", { prompt: "x", max_tokens: 4 }))), 10_000, "requests after the death");
      expect(after.map((r) => r.status)).toEqual(Array(40).fill(503));
      expect(after[0].json.error.code).toBe("engine_unavailable");
      expect((await within(fetch(url + DOCS), 5000, "list documents")).status).toBe(503);
      expect(running.ctx.limiter.inFlight).toBe(0);
    } finally {
      await within(running.close(), 30_000, "close");
      await engine.close();
    }
  });

  it("glimpse serve exits non-zero, naming the cause; the restart loads the last snapshot", async () => {
    const file = join(dir, "cache.json");
    const first = startServe(["--port", "0", "--speculative-config", '{"method": "suffix"}', "--worker-max-old-space-mb", String(HEAP_MB),
      "--suffix-cache-file", file, "--suffix-cache-interval", "1"]);
    try {
      const url = await first.url;
      expect((await post(url + DOCS, { name: "keep.ts", text: "export const keep = 1;\n" })).status).toBe(201);
      await new Promise((r) => setTimeout(r, 2500)); // one snapshot interval and more
      await uploadUntilDeath(url);
      const { code } = await within(first.exited, 60_000, "exit after the worker died");
      expect(code).toBe(70);
      expect(first.output()).toMatch(/engine failed.*|out of memory/);
      expect(first.output()).toContain("out of memory");
    } finally {
      await first.stop();
    }
    // What a supervisor does next: start it again (without the tiny heap).
    const second = startServe(["--port", "0", "--speculative-config", '{"method": "suffix"}', "--suffix-cache-file", file]);
    try {
      const url = await second.url;
      const list: any = await (await fetch(url + DOCS)).json();
      expect(list.data.map((d: { name: string }) => d.name)).toContain("keep.ts");
    } finally {
      await second.stop();
    }
  });
});
