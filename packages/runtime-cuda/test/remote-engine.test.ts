// RemoteEngine: the engine in a worker thread. Imported from dist/, because
// the worker runs the built JavaScript (turbo builds before it tests).
import { Worker } from "node:worker_threads";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine, GenerationAbortedError, GlimpseConfigError, ModelLoadError, RemoteEngine } from "../dist/index.js";
import { MODEL_DIR } from "./model-dir.js";
import { prompts } from "./prompts.js";
import { runExample } from "./run-example.js";

let remote: RemoteEngine;
let local: Engine;
beforeAll(async () => {
  [remote, local] = await Promise.all([
    RemoteEngine.load(MODEL_DIR, { speculativeConfig: { method: "suffix" } }),
    Engine.load(MODEL_DIR, { speculativeConfig: { method: "suffix" } }),
  ]);
}, 120_000);
afterAll(async () => Promise.all([remote?.close(), local?.close()]));

describe("RemoteEngine", () => {
  it("generates the same tokens as an Engine in this thread, and streams them in order", async () => {
    for (const p of prompts(2)) {
      const want = await local.generate({ prompt: p.text, maxTokens: 32 });
      const s = remote.stream({ prompt: p.text, maxTokens: 32 });
      const ids: number[] = [];
      for await (const c of s) ids.push(...c.tokenIds);
      const got = await s.result;
      expect(got.tokenIds).toEqual(want.tokenIds);
      expect(ids).toEqual(want.tokenIds);
      expect(got.text).toBe(want.text);
    }
  });

  it("throws bad options at once, naming the field", () => {
    expect(() => remote.stream({ prompt: "x", topP: 0 })).toThrow(GlimpseConfigError);
    expect(() => remote.stream({ prompt: "x", maxTokens: -1 })).toThrow(/max_tokens: must be an integer >= 1/);
    expect(remote.activeRequestCount).toBe(0);
  });

  it("aborts through the signal and frees the request", async () => {
    const ac = new AbortController();
    const s = remote.stream({ prompt: "function f() {", maxTokens: 1500, ignoreEos: true, signal: ac.signal });
    let n = 0;
    const err = await (async () => {
      for await (const c of s) {
        n += c.tokenIds.length;
        if (n >= 3) ac.abort();
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GenerationAbortedError);
    await expect(s.result).rejects.toBeInstanceOf(GenerationAbortedError);
    expect(remote.activeRequestCount).toBe(0);
    expect(n).toBeLessThan(1500);
  });

  it("serves the suffix-document API and reports the trees' memory", async () => {
    expect(await remote.addDocument("a.ts", "export const x = 1;\n")).toBeGreaterThan(0);
    expect(await remote.listDocuments()).toEqual([{ name: "a.ts", tokens: expect.any(Number) }]);
    await expect(remote.addDocument("", "x")).rejects.toThrow(/name: must be a non-empty string/);
    expect(await remote.removeDocument("a.ts")).toBe(true);
    // Reported with each finished generation (the first test made some).
    expect(remote.suffixMemoryBytes()).toBeGreaterThan(0);
  });

  it("fails to load a missing folder with the engine's error", async () => {
    await expect(RemoteEngine.load("/nonexistent/model")).rejects.toThrow(ModelLoadError);
  });

  it("rebuilds errors from the worker as the same classes, field and reason intact", async () => {
    const err = await remote.addDocument("", "x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GlimpseConfigError);
    expect((err as GlimpseConfigError).field).toBe("name");
    expect((err as GlimpseConfigError).reason).toBe("must be a non-empty string of at most 256 characters");
    expect((err as Error).message).toBe("name: must be a non-empty string of at most 256 characters");
  });

  it("reports the worker engine's speculation totals with each result", async () => {
    const before = remote.cumulative.steps;
    const r = await remote.generate({ prompt: "const a = 1;", maxTokens: 16 });
    expect(remote.cumulative.steps).toBe(before + r.metrics.steps);
  });

  it("the worker exits non-zero when the model fails to load", async () => {
    const worker = new Worker(new URL("../dist/worker/engine-worker.js", import.meta.url), { workerData: { modelDir: "/nonexistent/model", options: {} } });
    const messages: unknown[] = [];
    worker.on("message", (m) => messages.push(m));
    const code = await new Promise<number>((res) => worker.once("exit", res));
    expect(code).not.toBe(0);
    expect(messages).toEqual([{ type: "loadError", error: { kind: "model", message: expect.stringMatching(/does not exist/) } }]);
  });
});

describe("README example (RemoteEngine)", () => {
  it("runs", { timeout: 120_000 }, async () => {
    const stdout = await runExample("remote-engine.mjs");
    expect(stdout).toMatch(/\n200 tokens in \d+ ms in the worker thread/);
  });
});
