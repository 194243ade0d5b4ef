// Speculative sampling on the llama.cpp backend is distributed exactly like
// plain sampling (the request's temperature / top-k / top-p applied by
// Glimpse's sampler to llama.cpp's logits), and like the onnxruntime
// backend's sampling on the same weights; the same test catches a wrong
// acceptance rule.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine, sample, type AcceptRule, type GenerateOptions } from "../../src/index.js";
import { twoSample } from "../stats.js";
import { EMBEDDED_DIR, tinyGguf, type TinyGguf } from "./tiny-gguf.js";

// Trusts the draft: always keeps the first candidate.
const alwaysAccept: AcceptRule = (p, candidates, u) =>
  candidates.length > 0 ? { accepted: 0, token: candidates[0] } : { accepted: -1, token: sample(p, u) };

// A prompt that repeats, so suffix drafts are proposed at every step.
const PROMPT = "const a = 1;\nconst b = 2;\nconst a = 1;\nconst b = 2;\nconst a = 1;\nconst b = 2;\nconst a";
const N = 600;
const BATCH = 16;
const THREADS = { intraOpThreads: 1 };

let gguf: TinyGguf;
beforeAll(() => {
  gguf = tinyGguf();
}, 120_000);
afterAll(() => gguf?.remove());

async function sampleTokens(engine: Engine, options: Partial<GenerateOptions>, n = N): Promise<number[][]> {
  const out: number[][] = [];
  for (let start = 0; start < n; start += BATCH) {
    const batch = Array.from({ length: Math.min(BATCH, n - start) }, (_, k) =>
      engine.generate({ prompt: PROMPT, maxTokens: 4, temperature: 1, seed: start + k, ignoreEos: true, ...options }));
    for (const r of await Promise.all(batch)) out.push(r.tokenIds);
  }
  return out;
}

const column = (rows: number[][], pos: number) => rows.map((t) => t[pos]);

describe("speculative sampling on llama.cpp", () => {
  it("matches plain sampling and onnxruntime's sampling, and the same test catches a wrong acceptance rule", { timeout: 600_000 }, async () => {
    const spec = { method: "suffix" as const };
    // Not adaptive: every step drafts, so every position is decided by the acceptance rule under test.
    const good = await Engine.load(gguf.file, { speculativeConfig: spec, maxBatchSize: BATCH, adaptive: false, ...THREADS });
    const bad = await Engine.load(gguf.file, { speculativeConfig: spec, maxBatchSize: BATCH, adaptive: false, acceptRule: alwaysAccept, ...THREADS });
    const onnx = await Engine.load(EMBEDDED_DIR, { maxBatchSize: BATCH, ...THREADS });
    const plain = await sampleTokens(good, { speculate: false });
    const speculative = await sampleTokens(good, {});
    const broken = await sampleTokens(bad, {});
    const viaOnnx = await sampleTokens(onnx, { seed: undefined });
    expect(good.cumulative.draftTokens).toBeGreaterThan(N); // drafts were really verified
    expect(good.cumulative.acceptedTokens).toBeGreaterThan(0);
    // Token 1 comes from the prompt pass; tokens 2-4 from verified drafts.
    for (const pos of [1, 2, 3]) {
      expect(twoSample(column(plain, pos), column(speculative, pos)), `plain vs speculative, position ${pos}`).toBeGreaterThan(0.001);
      expect(twoSample(column(viaOnnx, pos), column(speculative, pos)), `onnxruntime vs llama.cpp, position ${pos}`).toBeGreaterThan(0.001);
    }
    const pBroken = Math.min(...[1, 2, 3].map((pos) => twoSample(column(plain, pos), column(broken, pos))));
    expect(pBroken).toBeLessThan(1e-4);
    await Promise.all([good.close(), bad.close(), onnx.close()]);
  });

  it("top-k sampling reads llama.cpp's top k logits alone, and draws what the full logits give", { timeout: 600_000 }, async () => {
    const engine = await Engine.load(gguf.file, { speculativeConfig: { method: "suffix" }, maxBatchSize: BATCH, adaptive: false, ...THREADS });
    // Log-probabilities need the whole distribution: those requests read every logit; the others the top 8 alone.
    // Same seeds, so the draws must be the same tokens.
    const topOnly = await sampleTokens(engine, { topK: 8 }, 160);
    const full = await sampleTokens(engine, { topK: 8, logprobs: true }, 160);
    expect(topOnly).toEqual(full);
    // Top-k did restrict the draws (a wrong k, or none, would draw some of the many other tokens).
    const tokens = new Set(topOnly.flat());
    const free = new Set((await sampleTokens(engine, {}, 160)).flat());
    expect(free.size).toBeGreaterThan(tokens.size);
    await engine.close();
  });
});
