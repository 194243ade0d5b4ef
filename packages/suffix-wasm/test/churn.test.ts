// Memory under churn: a long-lived cache must reuse memory, not grow.
// (bench/churn.mjs runs the full 1,000,000 cycles and prints the figures.)
import { describe, expect, it } from "vitest";
import { SuffixDecodingCache, createSuffixRuntime } from "../src/index.js";

describe("churn", () => {
  it("wasm memory stays flat over 60,000 start/extend/stop cycles after warm-up", { timeout: 120_000 }, () => {
    const runtime = createSuffixRuntime();
    const cache = new SuffixDecodingCache({ maxCachedRequests: 500, runtime });
    let seed = 7;
    const next = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return (seed >>> 8) % 300;
    };
    const prompt = new Int32Array(48);
    const chunk = new Int32Array(8);
    const sizes: number[] = [];
    let pooledAfterWarmup = 0;
    for (let i = 0; i < 60_000; i++) {
      for (let k = 0; k < prompt.length; k++) prompt[k] = next();
      cache.startRequest(i, prompt);
      for (let step = 0; step < 4; step++) {
        for (let k = 0; k < chunk.length; k++) chunk[k] = next();
        cache.addActiveResponse(i, chunk);
      }
      cache.stopRequest(i);
      if ((i + 1) % 10_000 === 0) sizes.push(runtime.memoryBytes);
      if (i + 1 === 10_000) pooledAfterWarmup = runtime.pooledBytes;
    }
    expect(cache.cachedRequests.length).toBe(500);
    expect(cache.activeRequests.length).toBe(0);
    expect(cache.checkIntegrity()).toBeNull();
    // After the first 10,000 cycles (the cache is full), memory must not move.
    expect(new Set(sizes.slice(1)).size).toBe(1);
    expect(pooledAfterWarmup).toBeGreaterThan(0);
    cache.dispose();
  });
});
