// Measuring what verification costs on this model and machine: one forward
// pass per draft length k = 0..maxDraft over a prompt of a given length, at
// batch 1 and at the engine's batch size (see batch-draft-width.ts).

import { BatchKvCache } from "../kv/batch-kv-cache.js";
import type { ForwardPass } from "../model/forward.js";
import { chainLayout } from "./draft-layout.js";
import { BatchVerifyCost } from "./batch-draft-width.js";
import { buildStepInputs, promptInputs } from "./step-inputs.js";

/** Draft lengths timed at the largest batch (the table in between is interpolated). */
const BATCH_KS = [0, 1, 2, 4, 8, 16];

/**
 * The engine's cost model, measured at load: k = 0..16 draft tokens at batch 1
 * (9 rounds) and BATCH_KS at `maxBatch` rows (5 rounds), at 256 tokens of
 * context. `plainMs`: a plain step at batch 1.
 */
export async function measureBatchCost(forward: ForwardPass, vocabSize: number, maxModelLen: number, maxBatch: number): Promise<{ cost: BatchVerifyCost; plainMs: number }> {
  const context = Math.min(256, Math.max(16, maxModelLen - 40));
  const one = await profileVerifyCost(forward, vocabSize, context, 16, 9);
  const batch = maxBatch > 1 ? await profilePasses(forward, vocabSize, context, maxBatch, BATCH_KS, 5) : [];
  return { cost: BatchVerifyCost.fromTimings(one, maxBatch, maxBatch > 1 ? BATCH_KS : [], batch), plainMs: one[0] };
}

/**
 * Median milliseconds of one forward pass verifying k draft tokens (entry k),
 * k = 0..maxDraft, at `contextLength` tokens of context.
 */
export async function profileVerifyCost(forward: ForwardPass, vocabSize: number, contextLength: number, maxDraft: number, repeats: number): Promise<number[]> {
  return profilePasses(forward, vocabSize, contextLength, 1, Array.from({ length: maxDraft + 1 }, (_, k) => k), repeats);
}

/** Median milliseconds of one forward pass of `rows` rows, each verifying ks[i] draft tokens (entry i), at `contextLength` tokens of context each. */
export async function profilePasses(forward: ForwardPass, vocabSize: number, contextLength: number, rows: number, ks: readonly number[], repeats: number): Promise<number[]> {
  const tokens = Array.from({ length: contextLength }, (_, i) => (i * 7919) % vocabSize);
  const L = forward.layout;
  const prompt = await forward.run(promptInputs(tokens, L.maskRank), BatchKvCache.empty(forward.kvShape, 1));
  const one = forward.advance(BatchKvCache.empty(forward.kvShape, 1), prompt, [new Uint8Array(contextLength).fill(1)], 0);
  const cache = rows === 1 ? one : BatchKvCache.gather(forward.kvShape, Array.from({ length: rows }, () => ({ cache: one, row: 0 })), 0);
  const inputs = ks.map((k) => {
    const row = { layout: chainLayout(tokens.slice(0, k + 1)), cachedLength: contextLength };
    return buildStepInputs(Array.from({ length: rows }, () => row), cache, L.maskRank, 0);
  });
  for (const x of inputs) await forward.run(x, cache); // warm-up
  // Rounds over every k, so a burst of load on the machine hits all sizes alike.
  const times: number[][] = inputs.map(() => []);
  for (let i = 0; i < repeats; i++) {
    for (let k = 0; k < inputs.length; k++) {
      const t0 = performance.now();
      await forward.run(inputs[k], cache);
      times[k].push(performance.now() - t0);
    }
  }
  return times.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]);
}
