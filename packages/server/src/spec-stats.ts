// Per-response speculative decoding statistics, in vLLM's field names,
// summed over the response's choices. The runtime's MetricsAggregator does
// the sums and ratios, as it does for the Prometheus exporter (metrics.ts).

import { MetricsAggregator, type GenerationResult, type SpecDecodingStats } from "@glimpse/runtime-cuda";
import type { ChoiceOutcome } from "./generation.js";

export interface ResponseMetrics {
  /**
   * vLLM's names; `mean_acceptance_length` is vLLM's 1 + accepted / drafts (1 without drafts),
   * `mean_tokens_per_step` is (steps + accepted) / steps.
   */
  speculative_decoding: SpecDecodingStats;
  time_to_first_token_ms: number;
  tokens_per_second: number;
}

export function responseMetrics(outcomes: ChoiceOutcome[]): ResponseMetrics {
  const metrics: GenerationResult["metrics"][] = [];
  for (const o of outcomes) if (o.result) metrics.push(o.result.metrics);
  const ttft = Math.min(...metrics.map((m) => m.timeToFirstTokenMs));
  const tps = metrics.reduce((sum, m) => sum + m.tokensPerSecond, 0);
  return {
    speculative_decoding: MetricsAggregator.of(metrics).stats(),
    time_to_first_token_ms: Number.isFinite(ttft) ? round(ttft) : 0,
    tokens_per_second: round(tps),
  };
}

const round = (x: number) => Math.round(x * 1000) / 1000;
