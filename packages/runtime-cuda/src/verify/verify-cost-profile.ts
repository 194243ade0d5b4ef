// Measuring what verification costs on this model and machine: one forward
// pass per draft length k = 0..maxDraft over a prompt of a given length.

import { BatchKvCache } from "../kv/batch-kv-cache.js";
import type { ForwardPass } from "../model/forward.js";
import { chainLayout } from "./draft-layout.js";
import { buildStepInputs, promptInputs } from "./step-inputs.js";

/**
 * Median milliseconds of one forward pass verifying k draft tokens (entry k),
 * k = 0..maxDraft, at `contextLength` tokens of context.
 */
export async function profileVerifyCost(forward: ForwardPass, vocabSize: number, contextLength: number, maxDraft: number, repeats: number): Promise<number[]> {
  const tokens = Array.from({ length: contextLength }, (_, i) => (i * 7919) % vocabSize);
  const L = forward.layout;
  const prompt = await forward.run(promptInputs(tokens, L.maskRank), BatchKvCache.empty(forward.kvShape, 1));
  const cache = forward.advance(BatchKvCache.empty(forward.kvShape, 1), prompt, [new Uint8Array(contextLength).fill(1)], 0);
  const inputs = Array.from({ length: maxDraft + 1 }, (_, k) =>
    buildStepInputs([{ layout: chainLayout(tokens.slice(0, k + 1)), cachedLength: contextLength }], cache, L.maskRank, 0));
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
