// A request's output: verified tokens appended up to its stop conditions
// (EOS and stop token ids, max_tokens, the model's length, stop strings),
// turned into text and streamed (a constrained request also ends where its
// grammar is complete); and the final result.

import type { TopLogprob } from "../sampling/rejection-sampler.js";
import type { FinishReason, GenerationResult, RequestState } from "../scheduler/request.js";

/**
 * Appends verified tokens (with their log-probabilities) to a request and
 * streams what they add. Returns the tokens taken (a stop token and what
 * follows it are dropped) and the finish reason, if a stop condition holds.
 */
export function appendOutput(r: RequestState, tokens: readonly number[], logprobs: readonly number[], maxModelLen: number, top?: readonly TopLogprob[][]): { taken: number[]; reason: "stop" | "length" | null } {
  if (r.firstTokenAt === 0) r.firstTokenAt = performance.now();
  const taken: number[] = [];
  const takenLogprobs: number[] = [];
  let reason: "stop" | "length" | null = null;
  for (let k = 0; k < tokens.length; k++) {
    const t = tokens[k];
    if (r.stopIds.has(t)) {
      reason = "stop";
      break;
    }
    taken.push(t);
    takenLogprobs.push(logprobs[k]);
    if (r.output.length + taken.length >= r.maxTokens || r.tokens.length + taken.length >= maxModelLen) {
      reason = "length";
      break;
    }
  }
  // The grammar followed the sampler's walk over these tokens: complete, the output ends here (ignoreEos or not).
  if (!reason && r.grammar?.complete()) reason = "stop";
  for (const t of taken) {
    r.tokens.push(t);
    r.output.push(t);
  }
  r.outputLogprobs.push(...takenLogprobs);
  const takenTop = top?.slice(0, taken.length);
  if (takenTop) r.outputTopLogprobs.push(...takenTop);
  r.metrics.outputTokens += taken.length;
  let text = r.detokenizer.push(taken);
  if (reason) text += r.detokenizer.flush();
  const matched = r.stopStrings.push(text);
  let emitted = matched.emit;
  if (matched.stopped) reason = "stop";
  else if (reason) emitted += r.stopStrings.flush();
  r.text += emitted;
  if (taken.length > 0 || emitted.length > 0) {
    r.queue.push({ tokenIds: taken, text: emitted, ...(r.logprobs ? { logprobs: takenLogprobs } : {}), ...(takenTop ? { topLogprobs: takenTop } : {}) });
  }
  return { taken, reason };
}

/** The whole generation, as `generate` returns it. */
export function generationResult(r: RequestState, reason: FinishReason): GenerationResult {
  const now = performance.now();
  const totalMs = now - r.startedAt;
  const genMs = r.firstTokenAt ? now - r.firstTokenAt : 0;
  return {
    text: r.text,
    tokenIds: [...r.output],
    ...(r.logprobs ? { logprobs: [...r.outputLogprobs] } : {}),
    ...(r.topLogprobs > 0 ? { topLogprobs: [...r.outputTopLogprobs] } : {}),
    finishReason: reason,
    promptTokens: r.promptLength,
    cachedPromptTokens: r.cachedPromptTokens,
    completionTokens: r.output.length,
    metrics: {
      ...r.metrics,
      acceptedPerPosition: [...r.metrics.acceptedPerPosition],
      timeToFirstTokenMs: r.firstTokenAt ? r.firstTokenAt - r.startedAt : totalMs,
      totalMs,
      tokensPerSecond: genMs > 0 ? (r.output.length - 1) / (genMs / 1000) : 0,
    },
  };
}
