// Speculative sampling must be distributed exactly like plain sampling.
// The same tests must catch a deliberately wrong acceptance rule.
import { describe, expect, it } from "vitest";
import { Engine, Rng, rejectionSample, sample, type AcceptRule } from "../src/index.js";
import { MODEL_DIR } from "./model-dir.js";
import { goodnessOfFit, twoSample } from "./stats.js";

// After rejecting a candidate, samples from p again instead of the residual
// (p without the rejected token): a classic bug that skews the output.
const noResidual: AcceptRule = (p, candidates, u) => {
  const x = sample(p, u);
  const i = candidates.indexOf(x);
  if (i >= 0) return { accepted: i, token: x };
  return { accepted: -1, token: sample(p, (u * 7919) % 1) };
};
// Trusts the draft: always keeps the first candidate.
const alwaysAccept: AcceptRule = (p, candidates, u) =>
  candidates.length > 0 ? { accepted: 0, token: candidates[0] } : { accepted: -1, token: sample(p, u) };

describe("rejection sampling rule", () => {
  const p = Float64Array.from([0.05, 0.3, 0.25, 0.15, 0.1, 0.1, 0.05]);
  const draw = (rule: AcceptRule, candidates: number[], n: number) => {
    const rng = new Rng(1234);
    const counts = new Map<number, number>();
    for (let i = 0; i < n; i++) {
      const { token } = rule(p, candidates, rng.next());
      counts.set(token, (counts.get(token) ?? 0) + 1);
    }
    return counts;
  };

  for (const candidates of [[2], [1, 4], [6, 0, 3], [5, 5]]) {
    it(`keeps the target distribution with candidates ${JSON.stringify(candidates)}`, () => {
      expect(goodnessOfFit(draw(rejectionSample, candidates, 100_000), p, 100_000)).toBeGreaterThan(0.001);
    });
  }

  it("catches rules that skew the distribution", () => {
    expect(goodnessOfFit(draw(noResidual, [1, 4], 100_000), p, 100_000)).toBeLessThan(1e-6);
    expect(goodnessOfFit(draw(alwaysAccept, [2], 100_000), p, 100_000)).toBeLessThan(1e-6);
  });
});

describe("speculative sampling through the engine", () => {
  // A prompt that repeats, so suffix drafts are proposed at every step.
  const prompt = "const a = 1;\nconst b = 2;\nconst a = 1;\nconst b = 2;\nconst a = 1;\nconst b = 2;\nconst a";
  const N = 600;

  async function sampleTokens(engine: Engine, speculate: boolean): Promise<number[][]> {
    const out: number[][] = [];
    for (let start = 0; start < N; start += 16) {
      const batch = Array.from({ length: Math.min(16, N - start) }, (_, k) =>
        engine.generate({ prompt, maxTokens: 4, temperature: 1, seed: start + k, speculate, ignoreEos: true }),
      );
      for (const r of await Promise.all(batch)) out.push(r.tokenIds);
    }
    return out;
  }

  it("matches plain sampling, and the same test catches a wrong acceptance rule", { timeout: 300_000 }, async () => {
    const spec = { method: "suffix" as const };
    // Not adaptive: every step drafts, so every position is decided by the acceptance rule under test.
    const good = await Engine.load(MODEL_DIR, { speculativeConfig: spec, maxBatchSize: 16, adaptive: false });
    const bad = await Engine.load(MODEL_DIR, { speculativeConfig: spec, maxBatchSize: 16, adaptive: false, acceptRule: alwaysAccept });
    const plain = await sampleTokens(good, false);
    const speculative = await sampleTokens(good, true);
    const broken = await sampleTokens(bad, true);
    expect(good.cumulative.draftTokens).toBeGreaterThan(N); // drafts were really verified
    // Token 1 comes from the prompt pass; tokens 2-4 from verified drafts.
    for (const pos of [1, 2, 3]) {
      const pGood = twoSample(plain.map((t) => t[pos]), speculative.map((t) => t[pos]));
      expect(pGood, `position ${pos}`).toBeGreaterThan(0.001);
    }
    const pBroken = Math.min(...[1, 2, 3].map((pos) => twoSample(plain.map((t) => t[pos]), broken.map((t) => t[pos]))));
    expect(pBroken).toBeLessThan(1e-4);
    await Promise.all([good.close(), bad.close()]);
  });
});
