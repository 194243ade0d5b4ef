// Prometheus metrics with vLLM's names, so dashboards built for vLLM's
// spec-decode and latency panels work unchanged. Speculation totals are kept
// by one MetricsAggregator (the runtime's, as for the responses' `metrics`).

import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";
import { MetricsAggregator, meanAcceptanceLength, type GenerationResult, type InferenceEngine } from "@glimpse/runtime-cuda";

// vLLM's buckets (seconds).
const TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
const TPOT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5];
const E2E_BUCKETS = [0.01, 0.05, 0.1, 0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60];

export class ServerMetrics {
  readonly registry = new Registry();
  private readonly drafts: Counter;
  private readonly draftTokens: Counter;
  private readonly acceptedTokens: Counter;
  private readonly acceptedPerPos: Counter<"position">;
  private readonly requestSuccess: Counter<"finished_reason">;
  private readonly promptTokens: Counter;
  private readonly generationTokens: Counter;
  private readonly ttft: Histogram;
  private readonly tpot: Histogram;
  private readonly e2e: Histogram;
  readonly httpErrors: Counter<"status">;
  /** Speculation totals over every observed generation. */
  private readonly spec = new MetricsAggregator();

  constructor(modelName: string, engine: InferenceEngine) {
    const registers = [this.registry];
    this.registry.setDefaultLabels({ model_name: modelName });
    collectDefaultMetrics({ register: this.registry });
    const counter = <L extends string = string>(name: string, help: string, labelNames: L[] = []) =>
      new Counter<L>({ name, help, labelNames, registers });
    this.drafts = counter("vllm:spec_decode_num_drafts_total", "Speculative drafts verified.");
    this.draftTokens = counter("vllm:spec_decode_num_draft_tokens_total", "Draft tokens proposed.");
    this.acceptedTokens = counter("vllm:spec_decode_num_accepted_tokens_total", "Draft tokens accepted.");
    this.acceptedPerPos = counter("vllm:spec_decode_num_accepted_tokens_per_pos_total", "Accepted draft tokens by position in the draft.", ["position"]);
    this.requestSuccess = counter("vllm:request_success_total", "Requests (choices) finished, by reason.", ["finished_reason"]);
    this.promptTokens = counter("vllm:prompt_tokens_total", "Prompt tokens processed.");
    this.generationTokens = counter("vllm:generation_tokens_total", "Tokens generated.");
    this.httpErrors = counter("glimpse:http_errors_total", "Error responses by HTTP status.", ["status"]);
    // vLLM exports no mean acceptance length (it logs one, and documents it as a PromQL
    // expression over the counters: 1 + rate(accepted) / rate(drafts)); hence the glimpse: prefix.
    const spec = this.spec;
    new Gauge({
      name: "glimpse:spec_decode_mean_acceptance_length",
      help: "Mean acceptance length since start, as vLLM defines it: 1 + accepted draft tokens / drafts (1 without drafts).",
      registers,
      collect() { this.set(meanAcceptanceLength(spec.total)); },
    });
    new Gauge({ name: "vllm:num_requests_running", help: "Generations running or queued in the engine.", registers, collect() { this.set(engine.activeRequestCount); } });
    if (engine.suffixMemoryBytes() !== null) {
      // Walks the trees: cheap at scrape intervals, not per request (a worker-hosted engine reports it with each result).
      new Gauge({ name: "glimpse:suffix_cache_memory_bytes", help: "Bytes held by the suffix trees (global cache and active requests).", registers, collect() { this.set(engine.suffixMemoryBytes() ?? 0); } });
    }
    this.ttft = new Histogram({ name: "vllm:time_to_first_token_seconds", help: "Time to first token.", buckets: TTFT_BUCKETS, registers });
    this.tpot = new Histogram({ name: "vllm:time_per_output_token_seconds", help: "Time per output token after the first.", buckets: TPOT_BUCKETS, registers });
    this.e2e = new Histogram({ name: "vllm:e2e_request_latency_seconds", help: "End-to-end generation latency.", buckets: E2E_BUCKETS, registers });
  }

  /** Counts generations cancelled because their client went away (vLLM's finished_reason "abort"). */
  aborted(n: number): void {
    this.requestSuccess.inc({ finished_reason: "abort" }, n);
  }

  /** Records one finished generation (one choice). */
  observe(r: GenerationResult): void {
    const m = r.metrics;
    this.spec.add(m);
    this.drafts.inc(m.drafts);
    this.draftTokens.inc(m.draftTokens);
    this.acceptedTokens.inc(m.acceptedTokens);
    m.acceptedPerPosition.forEach((n, position) => this.acceptedPerPos.inc({ position: String(position) }, n));
    this.requestSuccess.inc({ finished_reason: r.finishReason });
    this.promptTokens.inc(r.promptTokens);
    this.generationTokens.inc(r.completionTokens);
    this.ttft.observe(m.timeToFirstTokenMs / 1000);
    if (r.completionTokens > 1) this.tpot.observe((m.totalMs - m.timeToFirstTokenMs) / 1000 / (r.completionTokens - 1));
    this.e2e.observe(m.totalMs / 1000);
  }
}
