// Per-response speculative decoding statistics, in vLLM's field names,
// summed over the response's choices.

import type { ChoiceOutcome } from "./generation.js";

export interface SpeculativeStats {
  num_drafts: number;
  num_draft_tokens: number;
  num_accepted_tokens: number;
  num_accepted_tokens_per_pos: number[];
  /** Accepted / proposed draft tokens. */
  draft_acceptance_rate: number;
  /** Tokens per verification step (1 + accepted per step). */
  mean_acceptance_length: number;
}

export interface ResponseMetrics {
  speculative_decoding: SpeculativeStats;
  time_to_first_token_ms: number;
  tokens_per_second: number;
}

export function responseMetrics(outcomes: ChoiceOutcome[]): ResponseMetrics {
  const s: SpeculativeStats = {
    num_drafts: 0, num_draft_tokens: 0, num_accepted_tokens: 0, num_accepted_tokens_per_pos: [],
    draft_acceptance_rate: 0, mean_acceptance_length: 0,
  };
  let steps = 0;
  let ttft = Infinity;
  let tps = 0;
  for (const o of outcomes) {
    const m = o.result?.metrics;
    if (!m) continue;
    s.num_drafts += m.drafts;
    s.num_draft_tokens += m.draftTokens;
    s.num_accepted_tokens += m.acceptedTokens;
    m.acceptedPerPosition.forEach((n, i) => (s.num_accepted_tokens_per_pos[i] = (s.num_accepted_tokens_per_pos[i] ?? 0) + n));
    steps += m.steps;
    ttft = Math.min(ttft, m.timeToFirstTokenMs);
    tps += m.tokensPerSecond;
  }
  s.draft_acceptance_rate = s.num_draft_tokens > 0 ? round(s.num_accepted_tokens / s.num_draft_tokens) : 0;
  s.mean_acceptance_length = steps > 0 ? round((steps + s.num_accepted_tokens) / steps) : 0;
  return { speculative_decoding: s, time_to_first_token_ms: Number.isFinite(ttft) ? round(ttft) : 0, tokens_per_second: round(tps) };
}

const round = (x: number) => Math.round(x * 1000) / 1000;
