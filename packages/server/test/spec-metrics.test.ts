// Speculative decoding statistics: the `metrics.speculative_decoding` of
// /v1/* responses and the Prometheus exporter come from the runtime's
// MetricsAggregator, with vLLM's mean acceptance length (1 + accepted / drafts).

import type { GenerationResult } from "@glimpse/runtime-cuda";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ChoiceOutcome } from "../src/generation.js";
import { responseMetrics } from "../src/spec-stats.js";
import { post, startServer, SUFFIX, type TestServer } from "./helpers.js";

/** Responses round ratios to 3 decimals. */
const round3 = (x: number) => Math.round(x * 1000) / 1000;

/** A finished choice whose runtime result carries these counters. */
function outcome(m: { drafts: number; draftTokens: number; acceptedTokens: number; acceptedPerPosition: number[]; steps: number }): ChoiceOutcome {
  const result: GenerationResult = {
    text: "x", tokenIds: [1], finishReason: "length", promptTokens: 3, cachedPromptTokens: 0, completionTokens: m.steps + m.acceptedTokens,
    metrics: { ...m, outputTokens: m.steps + m.acceptedTokens, proposeMs: 0, verifyMs: 0, sampleMs: 0, timeToFirstTokenMs: 2, totalMs: 10, tokensPerSecond: 100 },
  };
  return { text: "x", tokenIds: [1], logprobs: [], finishReason: "length", result };
}

describe("responseMetrics", () => {
  it("sums the choices and reports vLLM's mean acceptance length, 1 + accepted / drafts", () => {
    const m = responseMetrics([
      outcome({ drafts: 3, draftTokens: 6, acceptedTokens: 4, acceptedPerPosition: [3, 1], steps: 5 }),
      outcome({ drafts: 2, draftTokens: 4, acceptedTokens: 1, acceptedPerPosition: [1], steps: 3 }),
      // Cut short by the server (JSON mode): no result, not counted.
      { text: "", tokenIds: [], logprobs: [], finishReason: "stop", result: null },
    ]);
    expect(m.speculative_decoding).toEqual({
      num_drafts: 5,
      num_draft_tokens: 10,
      num_accepted_tokens: 5,
      num_accepted_tokens_per_pos: [4, 1],
      draft_acceptance_rate: 0.5,
      mean_acceptance_length: 2, // 1 + 5 / 5
      mean_tokens_per_step: 1.625, // (8 steps + 5 accepted) / 8 steps: the former, wrong, mean_acceptance_length
    });
    expect(m.time_to_first_token_ms).toBe(2);
    expect(m.tokens_per_second).toBe(200);
  });

  it("is 1 without drafts (vLLM's convention), and 0 tokens per step without steps", () => {
    const plain = responseMetrics([outcome({ drafts: 0, draftTokens: 0, acceptedTokens: 0, acceptedPerPosition: [], steps: 7 })]);
    expect(plain.speculative_decoding).toMatchObject({ num_drafts: 0, draft_acceptance_rate: 0, mean_acceptance_length: 1, mean_tokens_per_step: 1 });
    const none = responseMetrics([]);
    expect(none.speculative_decoding).toMatchObject({ num_drafts: 0, mean_acceptance_length: 1, mean_tokens_per_step: 0 });
    expect(none.time_to_first_token_ms).toBe(0);
  });
});

describe("speculative decoding metrics over HTTP", () => {
  let srv: TestServer;
  beforeAll(async () => {
    srv = await startServer({ speculativeConfig: SUFFIX });
  });
  afterAll(() => srv?.close());

  const scrape = async () => {
    const res = await fetch(srv.url + "/metrics");
    expect(res.status).toBe(200);
    return res.text();
  };
  /** A sample's value by metric name (the one series without further labels than model_name). */
  const sample = (text: string, name: string): number => {
    const m = new RegExp(`^${name}\\{model_name="glimpse-test"\\} (\\S+)$`, "m").exec(text);
    expect(m, `${name} in /metrics`).not.toBeNull();
    return Number(m![1]);
  };
  const GAUGE = "glimpse:spec_decode_mean_acceptance_length";

  it("the /metrics gauge is 1 before anything was drafted", async () => {
    const text = await scrape();
    expect(text).toMatch(new RegExp(`^# TYPE ${GAUGE} gauge$`, "m"));
    expect(sample(text, GAUGE)).toBe(1);
    expect(sample(text, "vllm:spec_decode_num_drafts_total")).toBe(0);
  });

  it("responses and /metrics report vLLM's mean acceptance length, 1 + accepted / drafts", async () => {
    // Prompts that repeat a block: greedy decoding continues the repetition, which suffix decoding drafts.
    const blocks = [
      "a = 1\nb = 2\n",
      "x = [1, 2, 3]\ny = [4, 5, 6]\nprint(x + y)\n",
      "def add(a, b):\n    return a + b\n\n",
      "print('hello')\n",
    ];
    const specs = [];
    for (const body of blocks.map((b) => ({ prompt: b.repeat(3), max_tokens: 64, temperature: 0 }))) {
      const r = await post(srv.url + "/v1/completions", body);
      expect(r.status).toBe(200);
      specs.push(r.json.metrics.speculative_decoding);
    }

    let formulasDiffer = false;
    for (const s of specs) {
      expect(s.num_drafts).toBeGreaterThan(0);
      expect(s.num_accepted_tokens).toBeLessThanOrEqual(s.num_draft_tokens);
      expect(s.mean_acceptance_length).toBe(round3(1 + s.num_accepted_tokens / s.num_drafts));
      expect(s.draft_acceptance_rate).toBe(round3(s.num_accepted_tokens / s.num_draft_tokens));
      // The former figure, (steps + accepted) / steps, is kept as mean_tokens_per_step. Every drafted
      // step is a step, so it is never larger; it is smaller when some steps went without a draft.
      expect(s.mean_tokens_per_step).toBeGreaterThanOrEqual(1);
      expect(s.mean_tokens_per_step).toBeLessThanOrEqual(s.mean_acceptance_length);
      if (s.mean_tokens_per_step !== s.mean_acceptance_length) formulasDiffer = true;
    }
    // The old formula gives another figure on these requests (else this test could not tell them apart).
    expect(formulasDiffer).toBe(true);

    const drafts = specs.reduce((n, s) => n + s.num_drafts, 0);
    const accepted = specs.reduce((n, s) => n + s.num_accepted_tokens, 0);
    expect(accepted).toBeGreaterThan(0);
    const text = await scrape();
    expect(sample(text, "vllm:spec_decode_num_drafts_total")).toBe(drafts);
    expect(sample(text, "vllm:spec_decode_num_accepted_tokens_total")).toBe(accepted);
    expect(sample(text, "vllm:spec_decode_num_draft_tokens_total")).toBe(specs.reduce((n, s) => n + s.num_draft_tokens, 0));
    const gauge = sample(text, GAUGE);
    expect(gauge).toBeCloseTo(1 + accepted / drafts, 9);
    expect(gauge).toBeCloseTo(1 + sample(text, "vllm:spec_decode_num_accepted_tokens_total") / sample(text, "vllm:spec_decode_num_drafts_total"), 9);
  });
});
