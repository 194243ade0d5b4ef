// Finding 5 and bar 4: the suffix cache file. Periodic atomic snapshots; a
// second SIGTERM during the drain still saves; an unwritable path fails at
// start, before the model loads; a corrupt, empty or mismatched file is moved
// aside and the server starts empty; kill -9 at a random moment loses at most
// what came after the last snapshot.

import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Engine } from "@glimpse/runtime-cuda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serve } from "../../src/server.js";
import { MODEL_DIR, post, SUFFIX, waitFor } from "../helpers.js";
import { startServe, within } from "./serve-child.js";

const dir = mkdtempSync(join(tmpdir(), "glimpse-persistence-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const DOCS = "/v1/suffix/documents";
const SPEC = ["--speculative-config", '{"method": "suffix"}'];
const names = async (url: string) => ((await (await fetch(url + DOCS)).json()) as { data: { name: string }[] }).data.map((d) => d.name).sort();

describe("the suffix cache file, in process", () => {
  let engine: Engine;
  beforeAll(async () => {
    engine = await Engine.load(MODEL_DIR, { speculativeConfig: SUFFIX, intraOpThreads: 1 });
  });
  afterAll(() => engine?.close());

  const header = (vocab: number) => ({ format: "glimpse-suffix-cache", version: 1, model: "m", vocab_size: vocab, tokenizer_sha256: null, saved_at: "" });
  const unusable: [string, () => string][] = [
    ["empty", () => ""],
    ["not JSON", () => "{\"documents\": [ trunc"],
    ["another vocabulary", () => JSON.stringify({ ...header(engine.config.vocabSize + 7), documents: [{ name: "a", tokens: [1, 2] }], responses: [] })],
    ["an id outside the vocabulary", () => JSON.stringify({ ...header(engine.config.vocabSize), documents: [], responses: [[1, 2, 99999]] })],
    ["an id outside the vocabulary, no header", () => JSON.stringify({ documents: [{ name: "a", tokens: [99999] }], responses: [] })],
  ];
  for (const [what, content] of unusable) {
    it(`a file with ${what} is moved aside; the server starts empty`, async () => {
      const sub = mkdtempSync(join(dir, "bad-"));
      const file = join(sub, "cache.json");
      const text = content();
      writeFileSync(file, text);
      const running = await serve(engine, { port: 0, suffixCacheFile: file, suffixCacheIntervalMs: 0 });
      try {
        expect(await names(running.url)).toEqual([]);
        const aside = readdirSync(sub).filter((f) => f.startsWith("cache.json.bad-"));
        expect(aside).toHaveLength(1);
        expect(readFileSync(join(sub, aside[0]), "utf8")).toBe(text);
      } finally {
        await running.close();
      }
    });
  }

  it("snapshots periodically, atomically, with a header", async () => {
    const file = join(dir, "periodic.json");
    const running = await serve(engine, { port: 0, suffixCacheFile: file, suffixCacheIntervalMs: 300 });
    try {
      expect((await post(running.url + DOCS, { name: "p.ts", text: "export const p = 1;\n" })).status).toBe(201);
      const saved = () => existsSync(file) && (JSON.parse(readFileSync(file, "utf8")) as { documents: { name: string }[] }).documents.some((d) => d.name === "p.ts");
      expect(await waitFor(saved, 5000)).toBe(true);
      const head = JSON.parse(readFileSync(file, "utf8"));
      expect(head).toMatchObject({ format: "glimpse-suffix-cache", version: 1, vocab_size: engine.config.vocabSize });
      expect(existsSync(file + ".tmp")).toBe(false);
    } finally {
      await running.close();
      await engine.clearDocuments();
    }
  });
});

describe("the suffix cache file, glimpse serve", () => {
  it("an unwritable path is an error at start, before the model loads", async () => {
    writeFileSync(join(dir, "a-file"), "");
    for (const file of [join(dir, "no-such-dir", "cache.json"), join(dir, "a-file", "cache.json")]) {
      const child = startServe(["--port", "0", ...SPEC, "--suffix-cache-file", file]);
      const { code } = await within(child.exited, 60_000, "exit");
      expect(code).toBe(1);
      expect(child.output()).toContain(`--suffix-cache-file ${file}`);
      expect(child.output()).not.toContain("engine loaded");
    }
  });

  it("a second SIGTERM during the drain cuts in-flight requests but still saves", async () => {
    const file = join(dir, "second-signal.json");
    const child = startServe(["--port", "0", ...SPEC, "--suffix-cache-file", file, "--suffix-cache-interval", "0", "--shutdown-timeout", "120"]);
    try {
      const url = await child.url;
      expect((await post(url + DOCS, { name: "drain.ts", text: "export const drain = 1;\n" })).status).toBe(201);
      // A stream whose client stops reading keeps the drain waiting.
      const res = await fetch(url + "/v1/completions", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ prompt: "x", max_tokens: 100_000, ignore_eos: true, stream: true }) }).catch(() => null);
      await res?.body?.getReader().read();
      child.proc.kill("SIGTERM");
      expect(await waitFor(() => child.output().includes("shutting down"), 10_000)).toBe(true);
      await new Promise((r) => setTimeout(r, 300));
      child.proc.kill("SIGTERM");
      const exit = await within(child.exited, 60_000, "exit after the second SIGTERM");
      expect(exit).toEqual({ code: 0, signal: null });
      expect(JSON.parse(readFileSync(file, "utf8")).documents.map((d: { name: string }) => d.name)).toEqual(["drain.ts"]);
    } finally {
      await child.stop();
    }
  });

  it("kill -9 at a random moment under load: the restart holds everything up to the last snapshot", async () => {
    const file = join(dir, "kill9.json");
    const child = startServe(["--port", "0", ...SPEC, "--suffix-cache-file", file, "--suffix-cache-interval", "1"]);
    const acked: { name: string; at: number }[] = [];
    let killedAt = 0;
    try {
      const url = await child.url;
      let running = true;
      const load = (async () => {
        for (let i = 0; running && i < 400; i++) {
          const name = `doc-${i}.ts`;
          const [doc] = await Promise.all([
            post(url + DOCS, { name, text: `export const v${i} = ${i} * ${i + 1};\n`.repeat(1 + (i % 7)) }).catch(() => null),
            post(url + "/v1/completions", { prompt: `v${i} =`, max_tokens: 24, temperature: 0 }).catch(() => null),
          ]);
          if (doc?.status === 201) acked.push({ name, at: Date.now() });
        }
      })();
      // The random moment counts from the first acknowledged document: the first upload also starts the
      // tokenizer threads, which on a loaded machine can take longer than the slack below.
      expect(await waitFor(() => acked.length > 0, 30_000)).toBe(true);
      await new Promise((r) => setTimeout(r, 3000 + Math.random() * 4000));
      killedAt = Date.now();
      child.proc.kill("SIGKILL");
      running = false;
      await load;
      expect((await child.exited).signal).toBe("SIGKILL");
    } finally {
      await child.stop();
    }
    // The file is whole (never half-written) and holds what was acknowledged a snapshot interval (plus slack) before the kill.
    const saved = JSON.parse(readFileSync(file, "utf8")) as { documents: { name: string }[] };
    const savedNames = saved.documents.map((d) => d.name).sort();
    const mustHave = acked.filter((a) => a.at < killedAt - 2500).map((a) => a.name);
    expect(mustHave.length).toBeGreaterThan(0);
    for (const name of mustHave) expect(savedNames).toContain(name);

    const again = startServe(["--port", "0", ...SPEC, "--suffix-cache-file", file]);
    try {
      const url = await again.url;
      expect(await names(url)).toEqual(savedNames);
      expect(again.output()).not.toContain("moved aside");
    } finally {
      await again.stop();
    }
  });
});
