// What the adaptive policy keeps per request, and the clock it reads: a step
// is timed in parts (proposing, the forward pass, each row's own work) so
// each row can be charged its share of the step.

/** Milliseconds from an arbitrary origin; tests inject a fake one. */
export type Clock = () => number;

export const performanceClock: Clock = () => performance.now();

/** One request's drafting state between steps. */
export class AdaptiveState {
  /** Draft tokens the costly side may ask for now. */
  budget: number;
  /** Steps left without (costly) drafting. */
  pauseSteps = 0;
  /** Length of the next pause: doubles with each losing probe. */
  pauseLength = 2;
  // Recent tokens and milliseconds per drafting step, and what the same
  // steps would have cost plainly (moving averages).
  specTokens = 0;
  specMs = 0;
  plainMs = 0;
  specSteps = 0;
  /** The next drafting step is the first after a pause: it weighs more in the estimate. */
  probing = false;
  /** Recent accepted draft tokens, and what the proposer's probs expected of the same drafts (decaying sums). */
  acceptedSum = 0;
  expectedSum = 0;

  /**
   * How far this request's drafts beat (> 1) or fall short of (< 1) their
   * proposer's estimates lately (a sampled request accepts less than a
   * suffix tree's counts say; a repetitive greedy one more), in [0.1, 2]
   * and 1 until drafts were verified. Scales the probs that choose the
   * batch's draft width.
   */
  get calibration(): number {
    return Math.min(2, Math.max(0.1, (this.acceptedSum + 1) / (this.expectedSum + 1)));
  }

  /** `sampled`: the request samples (temperature > 0); its drafts fare unlike greedy ones. */
  constructor(maxDraft: number, readonly sampled = false) {
    this.budget = maxDraft;
  }
}

/** A row's share of a step. */
export interface StepTiming {
  /** The whole step as this row saw it: its proposer call, its share of the common work, its own acceptance and streaming. */
  rowMs: number;
  /** Its share of the forward pass. */
  verifyMs: number;
}

/** Times one step's parts with a clock. */
export class StepTimer {
  private proposeMs = 0;
  private forwardMs = 0;
  private forwardEnd = 0;

  /** `start`: when the step began (regrouping the batch included). */
  constructor(private readonly clock: Clock, private readonly rows: number, private readonly start = clock()) {}

  /** Runs a proposer call (a step may make two: see step-drafts.ts); returns its result and its duration. */
  async propose<T>(call: () => Promise<T>): Promise<{ value: T; ms: number }> {
    const t0 = this.clock();
    const value = await call();
    const ms = this.clock() - t0;
    this.proposeMs += ms;
    return { value, ms };
  }

  async forward<T>(pass: () => Promise<T>): Promise<T> {
    const t0 = this.clock();
    const value = await pass();
    this.forwardEnd = this.clock();
    this.forwardMs = this.forwardEnd - t0;
    return value;
  }

  /** Each row's share of the forward pass (ms). */
  get verifyMs(): number {
    return this.forwardMs / this.rows;
  }

  /** Marks the start of a row's own work; the returned function gives the milliseconds since. */
  rowStart(): () => number {
    const t = this.clock();
    return () => this.clock() - t;
  }

  /** A row's step: its proposer share, its share of the common work (everything up to the forward pass's end but proposing), and its own work. */
  rowTiming(proposeShare: number, ownMs: number): StepTiming {
    const sharedMs = (this.forwardEnd - this.start - this.proposeMs) / this.rows;
    return { rowMs: proposeShare + sharedMs + ownMs, verifyMs: this.verifyMs };
  }
}

/** Moving average over about ten samples; the first sample starts it. */
export function ema(avg: number, sample: number): number {
  return avg === 0 ? sample : 0.9 * avg + 0.1 * sample;
}
