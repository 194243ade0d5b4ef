// Runs a response's choices, either to one JSON body or as an SSE stream of
// chunks; the routes supply the OpenAI shapes, this module the control flow
// (client disconnects, mid-stream errors, usage and metrics at the end).

import type { Response } from "express";
import type { AppContext } from "./context.js";
import { toApiError } from "./errors.js";
import type { Choice, ChoiceDelta, ChoiceOutcome } from "./generation.js";
import { SseWriter } from "./sse.js";
import { responseMetrics, type ResponseMetrics } from "./spec-stats.js";

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  /** OpenAI's: prompt tokens served from the prompt cache. */
  prompt_tokens_details: { cached_tokens: number };
}

/** `n` choices per prompt: a prompt counts once, with its first choice's cached tokens. */
export function usageOf(promptTokens: number, outcomes: ChoiceOutcome[], n = 1): Usage {
  const completion = outcomes.reduce((s, o) => s + o.tokenIds.length, 0);
  const cached = outcomes.reduce((s, o, k) => s + (k % n === 0 ? (o.result?.cachedPromptTokens ?? 0) : 0), 0);
  return { prompt_tokens: promptTokens, completion_tokens: completion, total_tokens: promptTokens + completion, prompt_tokens_details: { cached_tokens: cached } };
}

/** Runs every choice to the end; null when the client went away first. */
export async function runAll(ctx: AppContext, choices: Choice[], signal: AbortSignal): Promise<ChoiceOutcome[] | null> {
  let finished = 0;
  try {
    return await Promise.all(choices.map(async (c) => {
      const outcome = await c.run();
      finished++;
      observe(ctx, outcome);
      return outcome;
    }));
  } catch (err) {
    for (const c of choices) c.cancel();
    if (signal.aborted) {
      ctx.metrics.aborted(choices.length - finished);
      return null;
    }
    throw err;
  }
}

export interface StreamShapes {
  /** Chunks sent before any token (chat's role delta, completion echo). */
  opening(index: number): object | null;
  /** null: nothing to send for this piece (a tool call's text that completes no delta yet). */
  delta(index: number, delta: ChoiceDelta): object | null;
  finish(index: number, outcome: ChoiceOutcome): object;
  /** The closing chunk with usage (sent only when stream_options.include_usage). */
  usage(usage: Usage, metrics: ResponseMetrics): object;
}

export async function streamAll(
  ctx: AppContext, res: Response, choices: Choice[], signal: AbortSignal,
  shapes: StreamShapes, promptTokens: number, includeUsage: boolean, choicesPerPrompt = 1,
): Promise<void> {
  const sse = new SseWriter(res, ctx.streamCoalesceMs, ctx.writeTimeoutMs);
  const outcomes: ChoiceOutcome[] = [];
  try {
    for (let i = 0; i < choices.length; i++) {
      const open = shapes.opening(i);
      if (open) await sse.send(open);
    }
    await Promise.all(choices.map(async (choice, i) => {
      const outcome = await choice.run(async (d) => {
        const chunk = shapes.delta(i, d);
        if (chunk) await sse.send(chunk);
      });
      outcomes.push(outcome);
      observe(ctx, outcome);
      const chunk: Record<string, unknown> = { ...shapes.finish(i, outcome) };
      // Per-response stats ride on the last chunk that carries a choice unless a usage chunk follows.
      if (outcomes.length === choices.length && !includeUsage) chunk.metrics = responseMetrics(outcomes);
      await sse.send(chunk);
    }));
    if (includeUsage) await sse.send(shapes.usage(usageOf(promptTokens, outcomes, choicesPerPrompt), responseMetrics(outcomes)));
  } catch (err) {
    for (const c of choices) c.cancel();
    if (signal.aborted) {
      ctx.metrics.aborted(choices.length - outcomes.length);
      return; // the client is gone: nobody to tell
    }
    ctx.log.error({ err }, "generation failed mid-stream");
    await sse.send(toApiError(err).toJSON());
  }
  await sse.done();
}

function observe(ctx: AppContext, outcome: ChoiceOutcome): void {
  if (!outcome.result) return;
  ctx.metrics.observe(outcome.result);
  // The one place a finished generation is seen: what the local tree just learnt, the other replicas learn too.
  ctx.sharedCache?.publish({ kind: "response", tokens: outcome.result.tokenIds });
}
