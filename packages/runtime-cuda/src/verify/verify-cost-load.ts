// The verify-cost model an engine starts with. Small decoders are measured
// at load (a fraction of a second). Large ones would add tens of seconds to
// every load (28-36 s at the 0.5B shape), so their curve comes from the
// on-disk cache when it has one; else the engine starts from a prior and
// measures in the background while idle (a request that arrives meanwhile
// waits for one pass at most), then caches the curve (verify-cost-cache.ts).

import type { DecoderBackend } from "../backend/decoder-backend.js";
import type { ForwardPass } from "../model/forward.js";
import { BatchVerifyCost } from "./batch-draft-width.js";
import { costKey, readCostCache, writeCostCache } from "./verify-cost-cache.js";
import { costFromTimings, measureBatchCost, ProfileStopped, type ProfileGate } from "./verify-cost-profile.js";
import { VerifyCost } from "./verify-cost.js";

/**
 * Until measured: verify cost relative to one token for k = 0, 1, 2, 4, 8, 16
 * draft tokens, pooled over three runs at the 0.5B shape and ~100M on a 2-core
 * CPU (1.16 / 1.34 / 1.61 / 2.16 at k = 1 / 4 / 8 / 16). Larger batches are
 * modelled as as many positions at batch 1 (BatchVerifyCost.fromTable).
 */
const PRIOR_KS = [0, 1, 2, 4, 8, 16];
const PRIOR_REL = [1, 1.16, 1.25, 1.34, 1.61, 2.16];

export function priorCost(): BatchVerifyCost {
  const dense = Array.from({ length: 17 }, (_, k) => {
    const j = PRIOR_KS.findIndex((x) => x >= k);
    if (PRIOR_KS[j] === k) return PRIOR_REL[j];
    return PRIOR_REL[j - 1] + ((PRIOR_REL[j] - PRIOR_REL[j - 1]) * (k - PRIOR_KS[j - 1])) / (PRIOR_KS[j] - PRIOR_KS[j - 1]);
  });
  return BatchVerifyCost.fromTable(VerifyCost.fromTimings(dense));
}

/**
 * Decoders of at least this many multiply-adds per token (session.ts's
 * macsPerToken) are measured in the background: the tiny embedded model
 * (1.6 M) measures in about 0.3 s, so this line keeps a load-time
 * measurement under about 2 s.
 */
export const BACKGROUND_MACS = 10e6;

export interface CostSetup {
  /** The model's backend (or an onnxruntime forward pass alone). */
  backend?: DecoderBackend;
  forward?: ForwardPass;
  /** The decoder's multiply-adds per token (what a pass costs, roughly). */
  macs: number;
  /** The decoder graph (or GGUF file) and its threads (the cache key). */
  file: string;
  threads: number;
  provider: string;
  vocabSize: number;
  maxModelLen: number;
  maxBatch: number;
  /** Whether the engine has no request (background measurement runs only then). */
  idle(): boolean;
  /** Puts a cost model in use: at once, and again when a background measurement ends (with ms of a plain step when measured). */
  apply(cost: BatchVerifyCost, plainMs?: number): void;
}

export interface InitialCost {
  cost: BatchVerifyCost;
  /** Where it came from. */
  source: "measured" | "cache" | "prior";
  /** A measurement running in the background ("prior"): resolves with its cost (null if stopped or failed). */
  background?: Promise<BatchVerifyCost | null>;
  /** Stops the background measurement after its current pass; resolves when it has. */
  stop(): Promise<void>;
}

export async function initialVerifyCost(s: CostSetup): Promise<InitialCost> {
  const target = s.backend ?? s.forward;
  if (!target) throw new Error("initialVerifyCost: a backend or forward pass is required");
  if (s.macs < BACKGROUND_MACS) {
    const m = await measureBatchCost(target, s.vocabSize, s.maxModelLen, s.maxBatch);
    s.apply(m.cost, m.plainMs);
    return { cost: m.cost, source: "measured", stop: async () => {} };
  }
  const key = costKey(s.file, s.threads, s.maxBatch, s.provider);
  const cached = readCostCache(key);
  if (cached) {
    const cost = costFromTimings(cached, s.maxBatch);
    s.apply(cost, cached.oneMs[0]);
    return { cost, source: "cache", stop: async () => {} };
  }
  let stopped = false;
  const gate: ProfileGate = { idle: s.idle, stopped: () => stopped };
  const background = measureBatchCost(target, s.vocabSize, s.maxModelLen, s.maxBatch, gate).then(
    (m) => {
      writeCostCache(key, m.timings);
      if (!stopped) s.apply(m.cost, m.plainMs);
      return m.cost;
    },
    (err) => {
      if (!(err instanceof ProfileStopped)) process.emitWarning(`glimpse: measuring the verify cost failed: ${(err as Error).message}`);
      return null;
    },
  );
  s.apply(priorCost());
  const stop = async () => {
    stopped = true;
    await background;
  };
  return { cost: priorCost(), source: "prior", background, stop };
}
