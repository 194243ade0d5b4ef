// Measuring what verification costs on this model and machine: one forward
// pass per draft length over a prompt of a given length, at batch 1 and at
// the engine's batch size (see batch-draft-width.ts).

import type { DecoderBackend, KvRows } from "../backend/decoder-backend.js";
import { OnnxBackend } from "../backend/onnx-backend.js";
import { ForwardPass } from "../model/forward.js";
import { chainLayout } from "./draft-layout.js";
import { BatchVerifyCost } from "./batch-draft-width.js";
import type { CostTimings } from "./verify-cost-cache.js";

/** Draft lengths timed at the largest batch (the table in between is interpolated). */
const BATCH_KS = [0, 1, 2, 4, 8, 16];
const ONE_KS = Array.from({ length: 17 }, (_, k) => k);

/**
 * When passes may run: `idle()` says whether the engine has no work, so a
 * background measurement waits for it before each pass and drops a sample
 * when work arrived while the pass ran (its time is then not the model's).
 */
export interface ProfileGate {
  idle(): boolean;
  stopped(): boolean;
}

/** Thrown out of a gated measurement stopped midway (the engine closes). */
export class ProfileStopped extends Error {}

/**
 * The engine's cost model: k = 0..16 draft tokens at batch 1 (9 rounds) and
 * BATCH_KS at `maxBatch` rows (5 rounds), at 256 tokens of context (fewer
 * when the model's length limit is shorter).
 */
export async function measureBatchCost(target: Profiled, vocabSize: number, maxModelLen: number, maxBatch: number, gate?: ProfileGate): Promise<{ cost: BatchVerifyCost; plainMs: number; timings: CostTimings }> {
  const context = profileContext(maxModelLen, 16);
  const one = await profilePasses(target, vocabSize, context, 1, ONE_KS, 9, gate);
  const batch = maxBatch > 1 ? await profilePasses(target, vocabSize, context, maxBatch, BATCH_KS, 5, gate) : [];
  const timings: CostTimings = { oneKs: ONE_KS, oneMs: one, batchKs: maxBatch > 1 ? BATCH_KS : [], batchMs: batch };
  return { cost: costFromTimings(timings, maxBatch), plainMs: one[0], timings };
}

/** Context for a profile: 256 tokens, or what leaves room for `maxDraft` + 1 inputs under the length limit (at least 1). */
export function profileContext(maxModelLen: number, maxDraft: number): number {
  return Math.max(1, Math.min(256, maxModelLen - maxDraft - 1));
}

/** The cost model from timings (batch-1 draft lengths may be sparse: the table is filled in linearly). */
export function costFromTimings(t: CostTimings, maxBatch: number): BatchVerifyCost {
  return BatchVerifyCost.fromTimings(densify(t.oneKs, t.oneMs), maxBatch, t.batchKs, t.batchMs);
}

function densify(ks: readonly number[], ms: readonly number[]): number[] {
  const last = ks[ks.length - 1];
  return Array.from({ length: last + 1 }, (_, k) => {
    const i = ks.indexOf(k);
    if (i >= 0) return ms[i];
    const j = ks.findIndex((x) => x > k);
    return ms[j - 1] + ((ms[j] - ms[j - 1]) * (k - ks[j - 1])) / (ks[j] - ks[j - 1]);
  });
}

/**
 * Median milliseconds of one forward pass verifying k draft tokens (entry k),
 * k = 0..maxDraft, at `contextLength` tokens of context.
 */
export async function profileVerifyCost(target: Profiled, vocabSize: number, contextLength: number, maxDraft: number, repeats: number): Promise<number[]> {
  return profilePasses(target, vocabSize, contextLength, 1, Array.from({ length: maxDraft + 1 }, (_, k) => k), repeats);
}

/** What is profiled: a backend, or an onnxruntime forward pass alone. */
export type Profiled = DecoderBackend | ForwardPass;

function asBackend(target: Profiled, vocabSize: number): DecoderBackend {
  return target instanceof ForwardPass ? OnnxBackend.of(target, vocabSize) : target;
}

/**
 * Median milliseconds of one forward pass of `rows` rows, each verifying ks[i]
 * draft tokens (entry i), at `contextLength` tokens of context each. Under a
 * gate, the rows' state is let go whenever work arrives (a backend's rows may
 * be what the work needs: llama.cpp's sequences) and made again once idle.
 */
export async function profilePasses(target: Profiled, vocabSize: number, contextLength: number, rows: number, ks: readonly number[], repeats: number, gate?: ProfileGate): Promise<number[]> {
  if (!Number.isInteger(contextLength) || contextLength < 1) throw new RangeError(`profile context must be a positive integer, got ${contextLength}`);
  const backend = asBackend(target, vocabSize);
  const tokens = Array.from({ length: contextLength }, (_, i) => (i * 7919) % vocabSize);
  const draft = Array.from({ length: Math.max(0, ...ks) + 1 }, (_, i) => ((contextLength + i) * 7919) % vocabSize);
  const steps = ks.map((k) => Array.from({ length: rows }, () => ({ layout: chainLayout(draft.slice(0, k + 1)), cachedLength: contextLength })));
  // Timed as greedy rows read them (the argmax alone where a backend can skip the distribution).
  const needs = Array.from({ length: rows }, () => "argmax" as const);
  let state: KvRows | null = null;
  const letGo = () => {
    if (state) for (let r = 0; r < rows; r++) backend.release(state, r);
    state = null;
  };
  const waitIdle = async () => {
    if (gate) while (!gate.idle()) {
      letGo();
      if (gate.stopped()) throw new ProfileStopped();
      await new Promise((res) => setTimeout(res, 50));
    }
    if (gate?.stopped()) throw new ProfileStopped();
  };
  /** One timed pass over draft width ks[i] (null: work arrived meanwhile, the time is not the model's alone). */
  const pass = async (i: number): Promise<number | null> => {
    await waitIdle();
    state ??= await backend.replicate(tokens, rows);
    const t0 = performance.now();
    const out = await backend.run(state, steps[i], needs);
    const ms = performance.now() - t0;
    await backend.discard(state, out);
    return gate && !gate.idle() ? null : ms;
  };
  try {
    for (let i = 0; i < ks.length; i++) await pass(i); // warm-up
    // Rounds over every k, so a burst of load on the machine hits all sizes alike.
    const times: number[][] = ks.map(() => []);
    for (let round = 0, tries = 0; round < repeats && tries < 4 * repeats; tries++) {
      const got = [];
      for (let i = 0; i < ks.length; i++) got.push(await pass(i));
      if (got.some((t) => t === null)) continue; // work arrived: this round is not the model's alone
      got.forEach((t, k) => times[k].push(t!));
      round++;
    }
    if (times[0].length === 0) throw new ProfileStopped("no undisturbed round");
    return times.map((t) => t.sort((a, b) => a - b)[Math.floor(t.length / 2)]);
  } finally {
    letGo();
  }
}
