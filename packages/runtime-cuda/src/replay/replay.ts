// Trace replay: the real model's forward passes over recorded prompts, with
// each recorded response forced as the target's output (GenerateOptions.
// forcedOutput), so speculation is measured on the text real models wrote
// while the cost of every pass is this model's. Each row runs plain and
// speculative, interleaved row by row (alternating which goes first, so
// drift and warm caches fall on both), one request at a time; the proposer
// sees earlier rows' responses as it would in serving.

import type { InferenceEngine } from "../inference-engine.js";
import { MetricsAggregator, meanAcceptanceLength, meanTokensPerStep, round3 } from "../metrics.js";
import type { GenerationResult } from "../scheduler/request.js";
import { checkTraceVocabulary, type TraceRow } from "./trace.js";

export interface ReplayOptions {
  /** Replay the first N rows (default all). */
  limit?: number;
  /** Cut each response to its first N tokens. */
  maxTokens?: number;
  /** Keep only each prompt's last N tokens (long agent prompts: prefill on a CPU takes minutes). */
  maxPromptTokens?: number;
  /** Name of the trace, for messages and the summary. */
  name?: string;
  /** Called after each row (progress). */
  onRow?: (index: number, total: number, plain: GenerationResult, speculative: GenerationResult | null) => void;
}

/** One mode's totals over the replayed rows. */
export interface ReplayRunStats {
  /** Tokens generated (= the responses' tokens). */
  tokens: number;
  /** Decoding speed after the first token (prefill excluded, as it is the same pass for both modes). */
  decodeTokensPerSecond: number;
  /** Tokens over the whole wall time of the requests, prefill included. */
  endToEndTokensPerSecond: number;
  totalMs: number;
  steps: number;
  drafts: number;
  draftTokens: number;
  accepted: number;
  acceptanceRate: number;
  meanAcceptanceLength: number;
  /** Tokens per verification step, drafted or not. */
  meanTokensPerStep: number;
  acceptedPerPosition: number[];
}

export interface ReplaySummary {
  name: string;
  rows: number;
  /** Rows left out because prompt + response exceed the model's length. */
  skipped: number;
  promptTokens: number;
  plain: ReplayRunStats;
  /** Null when the engine has no proposer. */
  speculative: ReplayRunStats | null;
  /** Speculative over plain decode tokens/s. */
  speedup: number | null;
  /** Rows whose generated tokens differ from the forced response (0 unless something is wrong). */
  mismatches: number;
}

/**
 * A replay's rows: the first `limit`, prompts cut to their last `maxPromptTokens`, responses to `maxTokens`, checked
 * against the vocabulary, and those that fit the model's length.
 */
export function replayRows(engine: Pick<InferenceEngine, "maxModelLen" | "config">, rows: readonly TraceRow[], o: Pick<ReplayOptions, "limit" | "maxTokens" | "maxPromptTokens" | "name"> = {}): { rows: TraceRow[]; skipped: number } {
  const chosen = rows.slice(0, o.limit ?? rows.length).map((r) => ({
    ...r,
    promptIds: o.maxPromptTokens ? r.promptIds.slice(-o.maxPromptTokens) : r.promptIds,
    responseIds: o.maxTokens ? r.responseIds.slice(0, o.maxTokens) : r.responseIds,
  }));
  checkTraceVocabulary(chosen, engine.config.vocabSize, o.name);
  const fit = chosen.filter((r) => r.promptIds.length + r.responseIds.length <= engine.maxModelLen);
  return { rows: fit, skipped: chosen.length - fit.length };
}

export async function replayTrace(engine: InferenceEngine, trace: readonly TraceRow[], o: ReplayOptions = {}): Promise<ReplaySummary> {
  const name = o.name ?? "trace";
  const { rows, skipped } = replayRows(engine, trace, { ...o, name });
  if (rows.length === 0) throw new Error(`${name}: no row fits the model's length of ${engine.maxModelLen} tokens`);
  const speculate = engine.speculative !== null;
  // One short plain request first: the session's first passes are slow, and would fall on row 0 alone.
  const warm = rows[0];
  await engine.generate({ promptIds: warm.promptIds, forcedOutput: warm.responseIds.slice(0, 4), ignoreEos: true, speculate: false });
  const plain: GenerationResult[] = [];
  const spec: GenerationResult[] = [];
  let mismatches = 0;
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    const run = (speculative: boolean) => engine.generate({ promptIds: r.promptIds, forcedOutput: r.responseIds, ignoreEos: true, speculate: speculative });
    let p: GenerationResult;
    let s: GenerationResult | null = null;
    if (!speculate) p = await run(false);
    else if (i % 2 === 0) [p, s] = [await run(false), await run(true)];
    else [s, p] = [await run(true), await run(false)];
    for (const g of s ? [p, s] : [p]) if (!sameIds(g.tokenIds, r.responseIds)) mismatches++;
    plain.push(p);
    if (s) spec.push(s);
    o.onRow?.(i, rows.length, p, s);
  }
  const plainStats = runStats(plain);
  const specStats = speculate ? runStats(spec) : null;
  return {
    name,
    rows: rows.length,
    skipped,
    promptTokens: rows.reduce((n, r) => n + r.promptIds.length, 0),
    plain: plainStats,
    speculative: specStats,
    speedup: specStats && plainStats.decodeTokensPerSecond > 0 ? round3(specStats.decodeTokensPerSecond / plainStats.decodeTokensPerSecond) : null,
    mismatches,
  };
}

function sameIds(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((t, i) => t === b[i]);
}

function runStats(results: readonly GenerationResult[]): ReplayRunStats {
  const m = MetricsAggregator.of(results.map((r) => r.metrics)).total;
  let tokens = 0;
  let decodeTokens = 0;
  let decodeMs = 0;
  let totalMs = 0;
  for (const r of results) {
    tokens += r.completionTokens;
    decodeTokens += r.completionTokens - 1;
    decodeMs += r.metrics.totalMs - r.metrics.timeToFirstTokenMs;
    totalMs += r.metrics.totalMs;
  }
  return {
    tokens,
    decodeTokensPerSecond: round3(decodeMs > 0 ? (1000 * decodeTokens) / decodeMs : 0),
    endToEndTokensPerSecond: round3(totalMs > 0 ? (1000 * tokens) / totalMs : 0),
    totalMs: round3(totalMs),
    steps: m.steps,
    drafts: m.drafts,
    draftTokens: m.draftTokens,
    accepted: m.acceptedTokens,
    acceptanceRate: round3(m.draftTokens > 0 ? m.acceptedTokens / m.draftTokens : 0),
    meanAcceptanceLength: round3(meanAcceptanceLength(m)),
    meanTokensPerStep: round3(meanTokensPerStep(m)),
    acceptedPerPosition: [...m.acceptedPerPosition],
  };
}
