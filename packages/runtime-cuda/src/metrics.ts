// Speculation counters and timings, per request and summed: one aggregator
// feeds the engine's totals, the `metrics` object of the server's responses
// and its Prometheus exporter. Names follow vLLM's spec-decode metrics.

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

/** vLLM's spec-decode figures, with its field names. */
export interface SpecDecodingStats {
  num_drafts: number;
  num_draft_tokens: number;
  num_accepted_tokens: number;
  num_accepted_tokens_per_pos: number[];
  /** Accepted / proposed draft tokens (0 without drafts). */
  draft_acceptance_rate: number;
  /** vLLM's figure: 1 + accepted tokens / drafts (1 without drafts). */
  mean_acceptance_length: number;
  /** Tokens per verification step, drafted or not: (steps + accepted) / steps. */
  mean_tokens_per_step: number;
}

export function emptyMetrics(): SpecMetrics {
  return { drafts: 0, draftTokens: 0, acceptedTokens: 0, acceptedPerPosition: [], steps: 0, outputTokens: 0, proposeMs: 0, verifyMs: 0, sampleMs: 0 };
}

/** Counts one verification step of a request. */
export function recordStep(m: SpecMetrics, draftTokens: number, accepted: number, verifyMs: number): void {
  m.steps++;
  m.verifyMs += verifyMs;
  if (draftTokens === 0) return;
  m.drafts++;
  m.draftTokens += draftTokens;
  m.acceptedTokens += accepted;
  for (let k = 0; k < accepted; k++) m.acceptedPerPosition[k] = (m.acceptedPerPosition[k] ?? 0) + 1;
}

/** vLLM's mean acceptance length: 1 + accepted tokens per draft (1 when nothing was drafted). */
export function meanAcceptanceLength(m: Pick<SpecMetrics, "drafts" | "acceptedTokens">): number {
  return m.drafts === 0 ? 1 : 1 + m.acceptedTokens / m.drafts;
}

/** Tokens per verification step, drafted or not (0 before the first step). */
export function meanTokensPerStep(m: Pick<SpecMetrics, "steps" | "acceptedTokens">): number {
  return m.steps === 0 ? 0 : (m.steps + m.acceptedTokens) / m.steps;
}

/** Sums request metrics; the one place totals are kept. */
export class MetricsAggregator {
  readonly total: SpecMetrics = emptyMetrics();

  add(m: SpecMetrics): this {
    const t = this.total;
    t.drafts += m.drafts;
    t.draftTokens += m.draftTokens;
    t.acceptedTokens += m.acceptedTokens;
    m.acceptedPerPosition.forEach((n, i) => (t.acceptedPerPosition[i] = (t.acceptedPerPosition[i] ?? 0) + n));
    t.steps += m.steps;
    t.outputTokens += m.outputTokens;
    t.proposeMs += m.proposeMs;
    t.verifyMs += m.verifyMs;
    t.sampleMs += m.sampleMs;
    return this;
  }

  /** The totals in vLLM's names, ratios rounded to 3 decimals. */
  stats(): SpecDecodingStats {
    const t = this.total;
    return {
      num_drafts: t.drafts,
      num_draft_tokens: t.draftTokens,
      num_accepted_tokens: t.acceptedTokens,
      num_accepted_tokens_per_pos: [...t.acceptedPerPosition],
      draft_acceptance_rate: round3(t.draftTokens > 0 ? t.acceptedTokens / t.draftTokens : 0),
      mean_acceptance_length: round3(meanAcceptanceLength(t)),
      mean_tokens_per_step: round3(meanTokensPerStep(t)),
    };
  }

  static of(metrics: Iterable<SpecMetrics>): MetricsAggregator {
    const a = new MetricsAggregator();
    for (const m of metrics) a.add(m);
    return a;
  }
}

export const round3 = (x: number): number => Math.round(x * 1000) / 1000;
