// The prompt cache: a prompt that starts like a recent one reuses that
// prompt's KV and computes only the rest, with the same output as a prompt
// computed from scratch.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine, GlimpseConfigError } from "../src/index.js";
import { BatchKvCache, type KvShape } from "../src/kv/batch-kv-cache.js";
import { MIN_REUSED_TOKENS, PromptCache } from "../src/kv/prompt-cache.js";
import { MODEL_DIR } from "./model-dir.js";

const shape: KvShape = { numLayers: 2, numKvHeads: 2, headDim: 3 };
/** Bytes of one position of `shape`: keys and values, 2 layers x 2 heads x 3 floats. */
const POSITION_BYTES = 2 * 2 * 2 * 3 * 4;
/** A value that says where it sits: layer, keys or values, head, position, dimension. */
const mark = (l: number, kv: number, h: number, p: number, d: number) => l * 10_000 + kv * 5_000 + h * 1_000 + p * 10 + d;

/** A one-row cache of `n` valid positions, each value its mark. */
function oneRow(n: number): BatchKvCache {
  const buffers = (kv: number) => Array.from({ length: 2 }, (_, l) => Float32Array.from({ length: 2 * n * 3 }, (_, i) => mark(l, kv, Math.floor(i / (n * 3)), Math.floor(i / 3) % n, i % 3)));
  return new BatchKvCache(shape, 1, n, n, buffers(0), buffers(1), [new Uint8Array(n).fill(1)]);
}

const seq = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);

describe("PromptCache", () => {
  it("hands out the longest shared prefix as a copy of exactly those positions, leaving the last token to compute", () => {
    const cache = new PromptCache(shape, 1 << 20);
    cache.put(seq(0, 40), oneRow(40));
    cache.put(seq(0, 30).concat(seq(500, 10)), oneRow(40));
    const hit = cache.lookup(seq(0, 35).concat([7, 7]))!;
    expect(hit.length).toBe(35);
    const c = hit.cache;
    expect([c.rows, c.width, c.length, c.validCount[0]]).toEqual([1, 35, 35, 35]);
    for (let l = 0; l < 2; l++) {
      for (let h = 0; h < 2; h++) {
        for (const p of [0, 17, 34]) {
          expect(c.keys[l][(h * 35 + p) * 3 + 2]).toBe(mark(l, 0, h, p, 2));
          expect(c.values[l][(h * 35 + p) * 3 + 1]).toBe(mark(l, 1, h, p, 1));
        }
      }
    }
    // The same prompt again: all but its last token.
    expect(cache.lookup(seq(0, 40))!.length).toBe(39);
    expect([cache.hits, cache.reusedTokens]).toEqual([2, 35 + 39]);
  });

  it("ignores short shared prefixes and prompts, and malformed caches", () => {
    const cache = new PromptCache(shape, 1 << 20);
    cache.put(seq(0, 40), oneRow(40));
    expect(cache.lookup(seq(0, MIN_REUSED_TOKENS - 1).concat([9999]))).toBeNull();
    expect(cache.lookup(seq(1, 40))).toBeNull();
    cache.put(seq(100, MIN_REUSED_TOKENS - 1), oneRow(MIN_REUSED_TOKENS - 1));
    cache.put(seq(200, 40), oneRow(39)); // a cache shorter than its tokens
    expect(cache.size).toBe(1);
  });

  it("evicts the least recently used entries past its byte budget", () => {
    const cache = new PromptCache(shape, 100 * POSITION_BYTES);
    cache.put(seq(0, 40), oneRow(40));
    cache.put(seq(1000, 40), oneRow(40));
    expect(cache.lookup(seq(0, 41))!.length).toBe(40); // the first is now the most recently used
    cache.put(seq(2000, 40), oneRow(40)); // 120 positions: one must go, the second
    expect(cache.bytes).toBe(80 * POSITION_BYTES);
    expect(cache.lookup(seq(1000, 41))).toBeNull();
    expect(cache.lookup(seq(0, 41))).not.toBeNull();
    expect(cache.lookup(seq(2000, 41))).not.toBeNull();
    cache.put(seq(3000, 101), oneRow(101)); // larger than the whole budget: not kept, nothing evicted
    expect(cache.size).toBe(2);
  });
});

describe("an engine with a prompt cache", () => {
  let cached: Engine;
  let fresh: Engine;
  beforeAll(async () => {
    cached = await Engine.load(MODEL_DIR, { speculativeConfig: { method: "suffix" } });
    fresh = await Engine.load(MODEL_DIR, { promptCacheMiB: 0 });
  }, 120_000);
  afterAll(async () => {
    await cached?.close();
    await fresh?.close();
  });

  const FILE = "export function add(a: number, b: number): number {\n  return a + b;\n}\n\nexport function sub(a: number, b: number): number {\n  return a - b;\n}\n\n";
  const ask = (e: Engine, prompt: string, speculate: boolean) => e.generate({ prompt, maxTokens: 32, ignoreEos: true, logprobs: true, speculate });

  it("computes only what a prompt adds to a recent one, with the output of a prompt computed whole", async () => {
    const first = FILE + "export function mul(a: number, b: number): number {\n";
    const second = first + "  return a * b;\n}\n\nexport function div(";
    const a = cached.tokenizer.encode(first);
    const b = cached.tokenizer.encode(second);
    let shared = 0;
    while (shared < a.length && a[shared] === b[shared]) shared++;
    expect(shared).toBeGreaterThanOrEqual(40);

    expect((await ask(cached, first, false)).cachedPromptTokens).toBe(0);
    for (const speculate of [false, true]) {
      const reused = await ask(cached, second, speculate);
      const whole = await ask(fresh, second, false);
      // The first request's prompt, then (speculative run) the second's own, one token short of it all.
      expect(reused.cachedPromptTokens).toBe(speculate ? b.length - 1 : shared);
      expect(reused.tokenIds).toEqual(whole.tokenIds);
      reused.logprobs!.forEach((lp, i) => expect(lp).toBeCloseTo(whole.logprobs![i], 4));
    }
    expect((await ask(fresh, second, false)).cachedPromptTokens).toBe(0);
  });

  it("keeps a long prompt computed in passes, and serves a longer one from it", async () => {
    const long = FILE.repeat(16); // well past one prefill pass of 512 tokens
    const ids = cached.tokenizer.encode(long);
    expect(ids.length).toBeGreaterThan(600);
    await ask(cached, long, false);
    const longer = long + "export function mod(";
    const reused = await ask(cached, longer, false);
    expect(reused.cachedPromptTokens).toBeGreaterThanOrEqual(ids.length - 2);
    expect(reused.tokenIds).toEqual((await ask(fresh, longer, false)).tokenIds);
  });

  it("refuses a budget that is not a number of MiB >= 0", async () => {
    for (const promptCacheMiB of [-1, Number.NaN, 1e9]) {
      await expect(Engine.load(MODEL_DIR, { promptCacheMiB })).rejects.toThrow(GlimpseConfigError);
    }
    await expect(Engine.load(MODEL_DIR, { promptCacheMiB: -1 })).rejects.toThrow(/promptCacheMiB: must be a number of MiB in \[0, 65536\]/);
  });
});
