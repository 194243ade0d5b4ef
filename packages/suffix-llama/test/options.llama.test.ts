// Options are checked at construction, with errors naming the field; and a missing node-llama-cpp gives one
// clear error naming the install command.

import { spawnSync } from "node:child_process";
import { cpSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { MISSING_NODE_LLAMA_CPP, SuffixDecodingCache, SuffixInputError, SuffixTokenPredictor } from "../src/index.js";

describe("options", () => {
  it.each([
    [{ maxTokens: -1 }, /^maxTokens: must be an integer in \[0, 65536\], got -1$/],
    [{ maxTokens: 2.5 }, /^maxTokens: /],
    [{ maxTreeDepth: 0 }, /^maxTreeDepth: /],
    [{ maxCachedResponses: -2 }, /^maxCachedResponses: /],
    [{ minTokenProb: 2 }, /^minTokenProb: /],
    [{ maxSpecFactor: -1 }, /^maxSpecFactor: /],
    [{ maxSpecOffset: Number.NaN }, /^maxSpecOffset: /],
    [{ maxToken: 8 }, /^maxToken: unknown option; allowed: cache, maxTreeDepth/],
    [{ cache: {} }, /^cache: must be a SuffixDecodingCache/],
  ])("refuses %j", (options, message) => {
    expect(() => new SuffixTokenPredictor(options as never)).toThrow(SuffixInputError);
    expect(() => new SuffixTokenPredictor(options as never)).toThrow(message);
  });

  it("refuses own-cache settings beside a shared cache", () => {
    const cache = new SuffixDecodingCache();
    expect(() => new SuffixTokenPredictor({ cache, maxTreeDepth: 32 })).toThrow(/^maxTreeDepth: configures a cache of the predictor's own/);
    cache.dispose();
  });

  it("takes its settings", () => {
    const p = new SuffixTokenPredictor({ maxTreeDepth: 32, maxCachedResponses: 5, maxTokens: 4 });
    expect([p.cache.maxTreeDepth, p.cache.maxCachedRequests, p.maxTokens]).toEqual([32, 5, 4]);
    const d = new SuffixTokenPredictor();
    expect([d.cache.maxTreeDepth, d.cache.maxCachedRequests, d.maxTokens]).toEqual([64, 1000, 1]);
    p.dispose();
    d.dispose();
  });
});

describe("without node-llama-cpp", () => {
  it("importing the package fails with one error naming the install command", () => {
    // The built package installed where node-llama-cpp cannot be found (its dependency linked beside it).
    const pkg = fileURLToPath(new URL("..", import.meta.url));
    const dir = mkdtempSync(join(tmpdir(), "suffix-llama-no-peer-"));
    try {
      const into = join(dir, "node_modules", "@glimpse", "suffix-llama");
      mkdirSync(into, { recursive: true });
      cpSync(join(pkg, "dist"), join(into, "dist"), { recursive: true });
      cpSync(join(pkg, "package.json"), join(into, "package.json"));
      symlinkSync(fileURLToPath(new URL("../../suffix-wasm", import.meta.url)), join(dir, "node_modules", "@glimpse", "suffix-wasm"));
      writeFileSync(join(dir, "main.mjs"), "await import('@glimpse/suffix-llama');\n");
      const r = spawnSync(process.execPath, ["main.mjs"], { cwd: dir, encoding: "utf8" });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain(MISSING_NODE_LLAMA_CPP);
      expect(MISSING_NODE_LLAMA_CPP).toContain("npm run setup:llama");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
