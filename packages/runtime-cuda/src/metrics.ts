// Speculation counters and timings, per request and summed over the engine.
// Names follow vLLM's spec-decode metrics (drafts, draft tokens, accepted
// tokens, accepted tokens per position).

export interface SpecMetrics {
  /** Steps that verified a draft. */
  drafts: number;
  draftTokens: number;
  acceptedTokens: number;
  /** acceptedPerPosition[i]: drafts whose token at depth i was accepted. */
  acceptedPerPosition: number[];
  /** Verification steps (forward passes after the prompt). */
  steps: number;
  outputTokens: number;
  proposeMs: number;
  verifyMs: number;
  sampleMs: number;
}

export function emptyMetrics(): SpecMetrics {
  return { drafts: 0, draftTokens: 0, acceptedTokens: 0, acceptedPerPosition: [], steps: 0, outputTokens: 0, proposeMs: 0, verifyMs: 0, sampleMs: 0 };
}

export function addMetrics(into: SpecMetrics, m: SpecMetrics): void {
  into.drafts += m.drafts;
  into.draftTokens += m.draftTokens;
  into.acceptedTokens += m.acceptedTokens;
  m.acceptedPerPosition.forEach((n, i) => (into.acceptedPerPosition[i] = (into.acceptedPerPosition[i] ?? 0) + n));
  into.steps += m.steps;
  into.outputTokens += m.outputTokens;
  into.proposeMs += m.proposeMs;
  into.verifyMs += m.verifyMs;
  into.sampleMs += m.sampleMs;
}

/** Mean tokens produced per verification step (1 + mean accepted draft tokens). */
export function meanAcceptanceLength(m: SpecMetrics): number {
  return m.steps === 0 ? 0 : (m.steps + m.acceptedTokens) / m.steps;
}
