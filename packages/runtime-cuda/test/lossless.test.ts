// Speculation must not change a single output token: greedy output with every
// proposer, alone and under concurrent batching, equals plain decoding.
import { beforeAll, describe, expect, it } from "vitest";
import { Engine, type SpeculativeConfigInput } from "../src/index.js";
import { MODEL_DIR } from "./model-dir.js";
import { prompts } from "./prompts.js";

const PROMPTS = prompts(10); // 50 prompts, 10 of each kind
const MAX_TOKENS = 24;

const PROPOSERS: Record<string, SpeculativeConfigInput> = {
  "suffix (path)": { method: "suffix" },
  "suffix (tree)": { method: "suffix", suffix_use_tree_spec: true },
  ngram: { method: "ngram", num_speculative_tokens: 5 },
  mlp: { method: "arctic", model: "speculator-mlp", num_speculative_tokens: 3 },
  lstm: { method: "arctic", model: "speculator-lstm", num_speculative_tokens: 3 },
  hybrid: { method: "arctic", model: "speculator-lstm", num_speculative_tokens: 3, enable_suffix_decoding: true },
};

let reference: number[][];

beforeAll(async () => {
  const plain = await Engine.load(MODEL_DIR, { maxBatchSize: 1 });
  reference = [];
  for (const p of PROMPTS) reference.push((await plain.generate({ prompt: p.text, maxTokens: MAX_TOKENS })).tokenIds);
  await plain.close();
}, 300_000);

describe("greedy output is identical to plain decoding", () => {
  it("has 50 prompts of 5 kinds", () => {
    expect(PROMPTS.length).toBe(50);
    expect(new Set(PROMPTS.map((p) => p.kind)).size).toBe(5);
  });

  for (const [name, config] of Object.entries(PROPOSERS)) {
    it(`${name}: alone and batched`, { timeout: 300_000 }, async () => {
      // Alone: one request at a time.
      // Not adaptive: drafts are never cut nor paused, so every proposed token is verified.
      const alone = await Engine.load(MODEL_DIR, { speculativeConfig: config, maxBatchSize: 1, adaptive: false });
      let drafted = 0;
      for (let i = 0; i < PROMPTS.length; i++) {
        const r = await alone.generate({ prompt: PROMPTS[i].text, maxTokens: MAX_TOKENS });
        expect(r.tokenIds, `${PROMPTS[i].kind} prompt ${i}`).toEqual(reference[i]);
        drafted += r.metrics.draftTokens;
      }
      await alone.close();
      // The proposer really drafted (else this test would prove nothing).
      expect(drafted).toBeGreaterThan(0);
      // Batched, adaptive (drafts cut for cost, pauses): all requests in flight, 8 per forward pass, joining and leaving.
      const batched = await Engine.load(MODEL_DIR, { speculativeConfig: config, maxBatchSize: 8 });
      // Measured at load (17 entries, k = 0..16), so drafts here are cut for cost.
      expect(batched.verifyCost.relative).toHaveLength(17);
      const results = await Promise.all(PROMPTS.map((p, i) => batched.generate({ prompt: p.text, maxTokens: MAX_TOKENS - (i % 7) })));
      results.forEach((r, i) => expect(r.tokenIds, `batched ${PROMPTS[i].kind} prompt ${i}`).toEqual(reference[i].slice(0, MAX_TOKENS - (i % 7))));
      await batched.close();
    });
  }
});

