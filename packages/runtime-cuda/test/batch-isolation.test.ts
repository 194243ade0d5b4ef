// A failing request fails alone. A batched forward pass that throws is retried
// row by row: the row that fails alone fails, the others go on with the same
// tokens they decode alone. A proposer that throws costs a step its drafts.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Engine } from "../src/index.js";
import type { StepInputs } from "../src/verify/step-inputs.js";
import { MODEL_DIR } from "./model-dir.js";

const PROMPTS = ["function add(a, b) {\n", "const items = [1, 2, 3];\n", "class Point {\n"];
let engine: Engine;
let reference: number[][];
beforeAll(async () => {
  engine = await Engine.load(MODEL_DIR, { speculativeConfig: { method: "suffix" }, maxBatchSize: 4, intraOpThreads: 1 });
  reference = [];
  for (const prompt of PROMPTS) reference.push((await engine.generate({ prompt, maxTokens: 32, ignoreEos: true, speculate: false })).tokenIds);
}, 120_000);
afterAll(async () => {
  vi.restoreAllMocks();
  await engine?.close();
});

/** Makes the graph refuse any pass with a position at or past `limit` (as a graph does past its longest sequence). */
function limitPositions(limit: number) {
  const forward = engine["forward"];
  const run = forward.run.bind(forward);
  return vi.spyOn(forward, "run").mockImplementation(async (inputs: StepInputs, cache) => {
    if (inputs.positions.some((p) => p >= BigInt(limit))) throw new Error(`position out of range (limit ${limit})`);
    return run(inputs, cache);
  });
}

describe("one bad request in a batch", () => {
  it("fails alone: the others finish with the tokens they decode alone", { timeout: 120_000 }, async () => {
    // The long prompt's prefill fits; its decoding steps cross the limit a few tokens later.
    const longPrompt = engine.tokenizer.decode(Array.from({ length: 150 }, (_, i) => 300 + (i % 50)), false);
    const longIds = engine.tokenizer.encode(longPrompt).length;
    const spy = limitPositions(longIds + 4);
    const before = engine.faults.isolatedSteps;
    try {
      const bad = engine.generate({ prompt: longPrompt, maxTokens: 32, ignoreEos: true });
      const good = PROMPTS.map((prompt) => engine.generate({ prompt, maxTokens: 32, ignoreEos: true }));
      await expect(bad).rejects.toThrow(/position out of range/);
      const results = await Promise.all(good);
      expect(results.map((r) => r.tokenIds)).toEqual(reference);
      expect(engine.faults.isolatedSteps).toBeGreaterThan(before);
    } finally {
      spy.mockRestore();
    }
  });

  it("a proposer that throws leaves its steps without drafts: same tokens, errors counted", { timeout: 120_000 }, async () => {
    const proposer = engine.proposer!;
    const propose = proposer.propose.bind(proposer);
    let calls = 0;
    const spy = vi.spyOn(proposer, "propose").mockImplementation(async (inputs) => {
      if (++calls % 2 === 0) throw new Error("proposer broke");
      return propose(inputs);
    });
    const before = engine.faults.proposerErrors;
    try {
      const results = await Promise.all(PROMPTS.map((prompt) => engine.generate({ prompt, maxTokens: 32, ignoreEos: true })));
      expect(results.map((r) => r.tokenIds)).toEqual(reference);
      expect(engine.faults.proposerErrors).toBeGreaterThan(before);
    } finally {
      spy.mockRestore();
    }
  });
});
