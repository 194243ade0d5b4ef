// Verifying a step's drafts against the target's logits: from input 0 down
// the draft tree, each position either keeps one of its draft children (the
// walk goes on from it) or ends the walk with the target's own token. Greedy
// requests keep a child equal to the argmax; sampled ones follow the
// acceptance rule (acceptance.ts), which keeps the output distributed
// exactly as plain sampling. Benchmarks may force the output instead
// (trace replay): drafts are then judged against the given tokens.
//
// A constrained request (structured output) has its grammar follow the walk:
// at each position visited, the grammar's token mask is applied to the
// logits before anything is read from them, so greedy takes the masked
// argmax, sampling draws from the masked, renormalised distribution, and the
// acceptance rule runs on that distribution: drafts stay lossless for the
// constrained output. A greedy request without log-probabilities first asks
// the grammar about the target's own argmax: when it is allowed it is the
// masked argmax too, and no mask is read.

import { applyTokenMask, type GrammarWalk } from "../grammar/mask.js";
import type { StepLayout } from "../verify/draft-layout.js";
import type { AcceptRule } from "./acceptance.js";
import type { LogitsNeed } from "../backend/decoder-backend.js";
import { isGreedy, probabilities, type SamplingParams } from "./distribution.js";
import { uniformAt } from "./rng.js";
import { DenseRowLogits, type RowLogits } from "./row-logits.js";

/** What the sampler needs of a request. */
export interface SamplingRequest {
  sampling: SamplingParams;
  seed: number;
  /** Tokens generated so far: the output position of the step's first token. */
  outputLength: number;
  /** Whether to compute each token's log-probability. */
  logprobs: boolean;
  /** How many of the most likely tokens to report at each position, with their log-probabilities (0: none). */
  topLogprobs?: number;
  /** Benchmarks: the output to produce, in place of the target's choice (GenerateOptions.forcedOutput). */
  forcedOutput?: readonly number[];
  /** A constrained request's grammar, at the step's first position (log-probabilities are then those of the masked distribution). */
  grammar?: GrammarWalk | null;
}

/** One of the most likely tokens at a position. */
export interface TopLogprob {
  id: number;
  logprob: number;
}

export interface Verdict {
  /** Tokens to emit: the accepted draft tokens, then the target's own. */
  tokens: number[];
  /** Their log-probabilities under the target (0 unless asked for). */
  logprobs: number[];
  /** Per input of the layout: 1 for input 0 and each accepted draft token (their K/V stay in the cache). */
  keep: Uint8Array;
  /** Input index whose logits produced the last token (its hidden state feeds the speculator). */
  last: number;
  /** Per token, the `topLogprobs` most likely tokens at its position, most likely first (when asked for). */
  top?: TopLogprob[][];
}

export class RejectionSampler {
  constructor(private readonly vocabSize: number, private readonly rule: AcceptRule) {}

  /**
   * Walks one row's layout over the target's output at its inputs: a
   * `RowLogits`, or an array holding `vocabSize` values per input of the row
   * from `offset` on (input j at offset + j * vocabSize).
   */
  verify(r: SamplingRequest, layout: StepLayout, logits: RowLogits | Float32Array, offset = 0): Verdict {
    const V = this.vocabSize;
    const out = logits instanceof Float32Array ? new DenseRowLogits(logits, offset, V) : logits;
    const keep = new Uint8Array(layout.tokens.length);
    keep[0] = 1;
    const tokens: number[] = [];
    const logprobs: number[] = [];
    const k = r.topLogprobs ?? 0;
    const top: TopLogprob[][] | undefined = k > 0 ? [] : undefined;
    let at = 0;
    for (;;) {
      const kids = layout.children[at];
      const candidates = kids.map((c) => layout.tokens[c]);
      const position = r.outputLength + tokens.length;
      const pick = r.grammar ? this.pickConstrained(r, r.grammar, out, at, candidates, position) : this.pick(r, out, at, candidates, position);
      tokens.push(pick.token);
      if (r.logprobs || top) {
        const { data, offset: o } = out.logits(at);
        logprobs.push(r.logprobs ? logSoftmaxAt(data, o, V, pick.token) : 0);
        top?.push(topLogprobs(data, o, V, k));
      } else logprobs.push(0);
      if (pick.accepted < 0) break;
      at = kids[pick.accepted];
      keep[at] = 1;
    }
    return { tokens, logprobs, keep, last: at, ...(top ? { top } : {}) };
  }

  /** As `pick`, under the grammar at the walk's position; the grammar then moves past the token. */
  private pickConstrained(r: SamplingRequest, g: GrammarWalk, out: RowLogits, at: number, candidates: readonly number[], position: number): { token: number; accepted: number } {
    if (isGreedy(r.sampling) && !r.logprobs && !r.topLogprobs && !r.forcedOutput) {
      const token = out.argmax(at);
      if (g.tryAdvance(token)) return { token, accepted: candidates.indexOf(token) };
    }
    const mask = g.mask();
    const { data, offset } = out.logits(at);
    if (mask && !applyTokenMask(data, offset, this.vocabSize, mask)) throw new Error("the output constraint admits no token here");
    const pick = this.pick(r, new DenseRowLogits(data, offset, this.vocabSize), 0, candidates, position);
    g.advance(pick.token);
    return pick;
  }

  /** The target's token at input `at`, and which candidate it keeps (-1: none). `position` seeds the uniform draw. */
  pick(r: SamplingRequest, out: RowLogits, at: number, candidates: readonly number[], position: number): { token: number; accepted: number } {
    const forced = r.forcedOutput;
    if (forced) {
      // Past the forced output nothing is kept (the request ends there; drafts never reach it).
      const token = position < forced.length ? forced[position] : out.argmax(at);
      return { token, accepted: position < forced.length ? candidates.indexOf(token) : -1 };
    }
    if (isGreedy(r.sampling)) {
      const token = out.argmax(at);
      return { token, accepted: candidates.indexOf(token) };
    }
    // One uniform number per output position: the same seed gives the same tokens with or without drafts.
    const { data, offset } = out.logits(at);
    return this.rule(probabilities(data, offset, this.vocabSize, r.sampling), candidates, uniformAt(r.seed, position));
  }
}

/**
 * What a request needs of the target's output (see LogitsNeed), when it
 * reports no log-probabilities and follows no grammar: the argmax alone
 * when its tokens are the argmax (greedy, or forced by a replay); the top
 * k logits when it samples with top-k k and no top-p (top-p reads
 * probabilities normalised over the whole vocabulary: see probabilities).
 */
export function logitsNeed(r: SamplingRequest): LogitsNeed {
  if (r.logprobs || r.topLogprobs || r.grammar) return "logits";
  if (isGreedy(r.sampling) || r.forcedOutput !== undefined) return "argmax";
  return r.sampling.topK > 0 && r.sampling.topP >= 1 ? { top: r.sampling.topK } : "logits";
}

export function logSoftmaxAt(logits: Float32Array, offset: number, size: number, index: number): number {
  let max = -Infinity;
  for (let i = 0; i < size; i++) max = Math.max(max, logits[offset + i]);
  let sum = 0;
  for (let i = 0; i < size; i++) sum += Math.exp(logits[offset + i] - max);
  return logits[offset + index] - max - Math.log(sum);
}

/** The k largest log-probabilities of one position's logits, most likely first (ties: lower id first). */
export function topLogprobs(logits: Float32Array, offset: number, size: number, k: number): TopLogprob[] {
  let max = -Infinity;
  for (let i = 0; i < size; i++) max = Math.max(max, logits[offset + i]);
  let sum = 0;
  for (let i = 0; i < size; i++) sum += Math.exp(logits[offset + i] - max);
  const logZ = max + Math.log(sum);
  // Insertion into a sorted list of k: k is small (at most 20).
  const best: number[] = [];
  for (let i = 0; i < size; i++) {
    const x = logits[offset + i];
    if (best.length === k && x <= logits[offset + best[k - 1]]) continue;
    let j = best.length;
    while (j > 0 && logits[offset + best[j - 1]] < x) j--;
    best.splice(j, 0, i);
    if (best.length > k) best.pop();
  }
  // Tokens a constraint masked out (-Infinity) are not among the likely ones.
  return best.filter((id) => logits[offset + id] > -Infinity).map((id) => ({ id, logprob: logits[offset + id] - logZ }));
}
