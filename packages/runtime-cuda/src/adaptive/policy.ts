// The adaptive policy: how many draft tokens each request asks for, and when
// a proposer that costs more than it yields is paused. It judges whole steps
// as the caller sees them (proposing, the forward pass and the JavaScript
// around it) against the time of a plain step, so drafting goes on only
// where it beats plain decoding by a margin.

import { BatchVerifyCost } from "../verify/batch-draft-width.js";
import { VerifyCost } from "../verify/verify-cost.js";
import { AdaptiveState, ema, type Clock, type StepTiming, performanceClock } from "./state.js";

/**
 * Drafting must beat plain decoding by this factor to go on. A smaller edge
 * is within timer noise, and the probing it takes to keep it costs about as
 * much as it earns.
 */
export const SPEC_MARGIN = 1.05;

/**
 * Longest pause of a losing proposer, in steps. Each pause ends with a probe,
 * and a speculator called after sitting idle for a while costs about a whole
 * decode step (its weights are no longer in cache): at 64 steps the probes
 * alone cost a proposer that never wins 2-3%. Longer pauses starve a
 * proposer that wins on some requests and not on others.
 */
export const MAX_PAUSE_STEPS = 128;

/** A proposer call cheaper than this share of a plain step is free when it finds nothing. */
export const CHEAP_CALL = 0.1;

/** Steps without drafting after a streak of rejected drafts. */
export const SHORT_REST_STEPS = 2;

/** A request that starts paused (drafting lost lately) probes within this many steps. */
export const FIRST_PROBE_AFTER = 8;

export interface PolicyOptions {
  /** Off: every request drafts its full budget on every step, and no draft is cut by cost. */
  enabled: boolean;
  /** Most tokens one draft of the costly side can hold (the proposer's maxTokens). */
  maxDraft: number;
  /** Whether the proposer has a free side that drafts while the costly one is paused (the hybrid's suffix tree). */
  freeSide: boolean;
  /** Length of the free side's drafts (the suffix tree's depth). */
  freeDraft: number;
  /**
   * Every call costs next to nothing (a suffix-tree or n-gram lookup): the
   * proposer is never paused. A pause saves proposer calls, and there are
   * none to save; what its drafts cost to verify is weighed step by step
   * (batch-draft-width.ts). Drafts that pay come in bursts (a file path, a
   * command repeated), and a pause after a losing streak misses them: on
   * agent traces at the 0.5B shape, pauses held drafting on half the steps
   * (1.28-1.31x plain; 1.40-1.45x without them, docs/BENCHMARKS.md).
   */
  freeCalls?: boolean;
  clock?: Clock;
}

/** Draft tokens to ask for this step (0: none), and whether only free drafts may be made. */
export interface DraftPlan {
  tokens: number;
  paused: boolean;
}

/** What one row's step did, for the policy to judge. */
export interface StepOutcome {
  plan: DraftPlan;
  /** Milliseconds of the proposer call charged to this row (0: not asked). */
  proposeMs: number;
  /** Draft tokens verified, and how many of them were accepted. */
  draftLen: number;
  accepted: number;
  /** The draft came from a side that costs next to nothing. */
  free: boolean;
  /** Cost of this step's pass relative to a plain pass of the same batch (default: the batch-1 table at draftLen). */
  passCost?: number;
  /** Sum of the verified draft's probs: the tokens its proposer expected to be accepted. */
  expected?: number;
  timing: StepTiming;
}

export class AdaptivePolicy {
  readonly clock: Clock;
  /** What a pass costs by batch size and draft width: chooses each step's common draft width (batch-draft-width.ts). */
  batchCost: BatchVerifyCost = BatchVerifyCost.fromTable(VerifyCost.linear(0));
  /** Recent time of a whole step without drafts (forward pass and the JavaScript around it), per request (ms). */
  plainStepMs = 0;
  /** The part of plainStepMs outside the forward pass (ms). */
  plainOverheadMs = 0;
  /** What drafting earned lately on this engine, over all requests (moving averages, as in adapt), and the last pause. */
  private readonly recent = { tokens: 0, ms: 0, plainMs: 0, pauseLength: 2 };
  /** Accepted draft tokens and what their probs expected, over recent greedy [0] and sampled [1] requests (decaying sums). */
  private readonly calibration = [{ accepted: 0, expected: 0 }, { accepted: 0, expected: 0 }];

  constructor(private readonly o: PolicyOptions) {
    this.clock = o.clock ?? performanceClock;
  }

  /** See EngineOptions.verifyCost: the batch-1 table. Setting it models larger batches from it alone. */
  get verifyCost(): VerifyCost {
    return this.batchCost.single;
  }

  set verifyCost(cost: VerifyCost) {
    this.batchCost = BatchVerifyCost.fromTable(cost);
  }

  get enabled(): boolean {
    return this.o.enabled;
  }

  /** A new request's state: its budget starts full. */
  newState(sampled = false): AdaptiveState {
    const a = new AdaptiveState(this.o.maxDraft, sampled);
    // Requests decode a few steps each: start from how drafts fared against
    // their probs on recent requests of the same kind (greedy or sampled),
    // weighted as a few steps.
    const c = this.calibration[sampled ? 1 : 0];
    if (c.expected > 0) {
      a.expectedSum = 4;
      a.acceptedSum = (4 * c.accepted) / c.expected;
    }
    return a;
  }

  /** This step's draft size for a request that has `room` tokens left before its length limit. */
  plan(a: AdaptiveState, room: number): DraftPlan {
    // A free side drafts at full length; the costly side caps its own drafts.
    const full = Math.min(this.o.freeDraft, room);
    if (a.pauseSteps > 0) {
      a.pauseSteps--;
      return this.o.freeSide ? { tokens: full, paused: true } : { tokens: 0, paused: true };
    }
    return { tokens: this.o.freeSide ? full : Math.min(a.budget, room), paused: false };
  }

  /**
   * A new request starts from what drafting earned on recent requests: where
   * it has been losing, the request starts paused, instead of paying a
   * warm-up of losing steps on every request, and probes once early; its
   * first drafting step then weighs half of the estimate.
   */
  startFromRecent(a: AdaptiveState): void {
    const e = this.recent;
    if (!this.o.enabled || e.ms === 0) return;
    a.specTokens = e.tokens;
    a.specMs = e.ms;
    a.plainMs = e.plainMs;
    a.specSteps = 4;
    a.probing = true;
    if (!this.o.freeCalls && this.draftingLoses(a)) {
      a.pauseLength = e.pauseLength;
      this.pause(a);
      // What lost on earlier requests may win on this one: probe it early,
      // then pause twice as long as the last pause if the probe loses.
      a.pauseSteps = Math.min(a.pauseSteps, FIRST_PROBE_AFTER);
    }
  }

  /** Learns from one row's step: plain steps refresh the yardstick, drafting steps are judged against it. */
  judge(a: AdaptiveState, s: StepOutcome): void {
    const rowMs = s.timing.rowMs;
    const verifyMs = s.timing.verifyMs;
    // Steps not judged: free drafts (the hybrid's suffix side), and a call
    // that found nothing and cost next to nothing (a suffix or n-gram lookup
    // without a match): pausing those saves nothing, and counting them as
    // steps that gained nothing would pause the drafts that do win. A costly
    // call counts even if its draft was cut to nothing.
    const freeCall = s.free || (s.draftLen === 0 && s.proposeMs < CHEAP_CALL * this.plainStepMs);
    // The pass is as wide as the batch's widest row: a row without a draft
    // may still have paid for other rows' drafts. Scale its share back to a
    // plain pass's.
    const passCost = s.passCost ?? this.verifyCost.at(s.draftLen);
    if (s.draftLen > 0 && s.expected !== undefined) {
      a.acceptedSum = 0.8 * a.acceptedSum + s.accepted;
      a.expectedSum = 0.8 * a.expectedSum + s.expected;
      const c = this.calibration[a.sampled ? 1 : 0];
      c.accepted = 0.95 * c.accepted + s.accepted;
      c.expected = 0.95 * c.expected + s.expected;
    }
    if (s.proposeMs === 0 && s.draftLen === 0) {
      // A plain step (paused or not): the yardstick speculation must beat.
      this.plainStepMs = ema(this.plainStepMs, rowMs - verifyMs + verifyMs / passCost);
      this.plainOverheadMs = ema(this.plainOverheadMs, rowMs - verifyMs);
    } else if (!freeCall && !s.plan.paused) {
      this.adapt(a, s.draftLen, s.accepted, rowMs, verifyMs / passCost + this.plainOverheadMs);
    }
  }

  /**
   * `plainMs` is what this step would have cost without a draft: its verify
   * time scaled down by the cost table, so it follows the request's current
   * context length.
   */
  private adapt(a: AdaptiveState, draftLen: number, accepted: number, stepMs: number, plainMs: number): void {
    if (!this.o.enabled) return;
    // Throughput check: tokens per millisecond with drafting (proposing
    // included) against one token per plain step. A proposer that costs more
    // than it yields pauses, twice as long each time, until it pays again.
    // The first step after a pause weighs half the estimate, so one probe
    // decides whether to resume or pause longer: a useless proposer costs one
    // step per pause, not several.
    // A call that gave nothing to verify (no match, or a draft cut to
    // nothing) still counts its cost, but is no probe: the next real draft is.
    const probe = a.probing && draftLen > 0;
    // The first sample starts the averages: averaging up from zero would
    // understate the plain step time (in ms, unlike the tokens/ms ratio) and
    // pause a proposer that wins by less than about 1.8x at its first check.
    const w = a.specSteps === 0 ? 1 : probe ? 0.5 : 0.2;
    if (probe) a.probing = false;
    a.specTokens = (1 - w) * a.specTokens + w * (accepted + 1);
    a.specMs = (1 - w) * a.specMs + w * stepMs;
    a.plainMs = (1 - w) * a.plainMs + w * plainMs;
    a.specSteps++;
    const e = this.recent;
    e.tokens = ema(e.tokens, accepted + 1);
    e.ms = ema(e.ms, stepMs);
    e.plainMs = ema(e.plainMs, plainMs);
    if (a.specSteps >= 4) {
      if (this.draftingLoses(a)) {
        // A free proposer keeps drafting at the budget it has (see freeCalls).
        if (!this.o.freeCalls) this.pause(a);
        return;
      }
      // One good probe halves the next pause rather than forgetting them all:
      // a proposer that wins now and then but loses on the whole stays mostly paused.
      a.pauseLength = Math.max(2, a.pauseLength / 2);
      e.pauseLength = a.pauseLength;
    }
    if (draftLen === 0) return; // nothing was verified: the budget stays
    if (accepted === 0) {
      a.budget = Math.floor(a.budget / 2);
      if (a.budget === 0) {
        // Drafts keep failing though drafting pays on the whole (else the
        // throughput check above would have paused it): rest a couple of
        // steps. Not a pause: those grow, and a proposer that wins on
        // average would end up starved by its losing streaks.
        a.pauseSteps = SHORT_REST_STEPS;
        a.budget = 1;
      }
    } else {
      a.budget = Math.min(this.o.maxDraft, Math.max(a.budget, 2 * (accepted + 1)));
    }
  }

  /** Whether a request's recent drafting yields fewer tokens per millisecond than plain decoding, by the margin. */
  private draftingLoses(a: AdaptiveState): boolean {
    // The cost model's estimate, or recent plain steps if they were cheaper.
    const plain = this.plainStepMs > 0 ? Math.min(this.plainStepMs, a.plainMs) : a.plainMs;
    return a.specTokens / a.specMs < SPEC_MARGIN / plain;
  }

  private pause(a: AdaptiveState): void {
    a.pauseSteps = a.pauseLength;
    this.recent.pauseLength = a.pauseLength;
    a.pauseLength = Math.min(a.pauseLength * 2, MAX_PAUSE_STEPS);
    a.probing = true;
  }
}
