// The adaptive policy on a fake clock (no model, no wall-clock): which steps
// draft, how long a losing proposer pauses, and how the draft budget moves.
import { describe, expect, it } from "vitest";
import {
  AdaptivePolicy,
  CHEAP_CALL,
  FIRST_PROBE_AFTER,
  MAX_PAUSE_STEPS,
  SHORT_REST_STEPS,
  type DraftPlan,
  type PolicyOptions,
  type StepOutcome,
} from "../src/adaptive/policy.js";
import { AdaptiveState, StepTimer, type Clock } from "../src/adaptive/state.js";

class FakeClock {
  now = 0;
  readonly read: Clock = () => this.now;
  advance(ms: number): void {
    this.now += ms;
  }
}

/** How one simulated step spends its time, and what its draft yields. */
interface StepShape {
  /** Before proposing (regrouping the batch). */
  regroupMs?: number;
  /** The proposer call, when the plan asks for tokens. */
  callMs?: number;
  forwardMs?: number;
  /** The row's own acceptance and streaming. */
  ownMs?: number;
  /** Draft tokens the proposer finds, at most the plan's (default: the plan's). */
  found?: number;
  /** Accepted tokens out of the draft's length. */
  accept?: (draftLen: number) => number;
  free?: boolean;
}

// A plain step: 1 + 10 + 1 = 12 ms, 10 of them in the forward pass.
const PLAIN: StepShape = { regroupMs: 1, forwardMs: 10, ownMs: 1 };
// Drafting that costs 16 ms a step and never gets a token accepted: 1/16 token per ms against 1/12 plainly.
const LOSING: StepShape = { regroupMs: 1, callMs: 4, forwardMs: 10, ownMs: 1, accept: () => 0 };
// Drafting at 13 ms a step with every draft token accepted.
const WINNING: StepShape = { regroupMs: 1, callMs: 1, forwardMs: 10, ownMs: 1, accept: (n) => n };

class Sim {
  readonly clock = new FakeClock();
  readonly policy: AdaptivePolicy;

  constructor(o: Partial<PolicyOptions> = {}) {
    this.policy = new AdaptivePolicy({ enabled: true, maxDraft: 8, freeSide: false, freeDraft: 16, ...o, clock: this.clock.read });
  }

  /** One row's step as the engine runs it: plan, timed proposer call, timed forward pass, own work, judge. */
  async step(a: AdaptiveState, shape: StepShape, room = 100): Promise<StepOutcome> {
    const start = this.clock.now;
    const timer = new StepTimer(this.clock.read, 1, start);
    this.clock.advance(shape.regroupMs ?? 0);
    const plan = this.policy.plan(a, room);
    let proposeMs = 0;
    let draftLen = 0;
    if (plan.tokens > 0) {
      const got = await timer.propose(async () => {
        this.clock.advance(shape.callMs ?? 0);
        return Math.min(plan.tokens, shape.found ?? plan.tokens);
      });
      proposeMs = got.ms;
      draftLen = got.value;
    }
    await timer.forward(async () => this.clock.advance(shape.forwardMs ?? 10));
    const own = timer.rowStart();
    this.clock.advance(shape.ownMs ?? 0);
    const accepted = draftLen > 0 ? (shape.accept ?? (() => 0))(draftLen) : 0;
    const outcome: StepOutcome = { plan, proposeMs, draftLen, accepted, free: shape.free ?? false, timing: timer.rowTiming(proposeMs, own()) };
    this.policy.judge(a, outcome);
    return outcome;
  }

  /** Plain steps of another request, so the yardstick is set (plan with no room: nothing drafted). */
  async yardstick(n = 3): Promise<void> {
    const other = this.policy.newState();
    for (let i = 0; i < n; i++) await this.step(other, PLAIN, 0);
  }

  async run(a: AdaptiveState, shape: StepShape, n: number): Promise<DraftPlan[]> {
    const plans: DraftPlan[] = [];
    for (let i = 0; i < n; i++) plans.push((await this.step(a, shape)).plan);
    return plans;
  }
}

/** Lengths of the runs of paused plans, each with what the plan after it asked for. */
function pauses(plans: DraftPlan[]): { length: number; then: DraftPlan | undefined }[] {
  const out: { length: number; then: DraftPlan | undefined }[] = [];
  let run = 0;
  plans.forEach((p, i) => {
    if (p.paused) run++;
    if (run > 0 && (!p.paused || i === plans.length - 1)) {
      out.push({ length: run, then: p.paused ? undefined : p });
      run = 0;
    }
  });
  return out;
}

describe("StepTimer", () => {
  it("charges a row its proposer share, its share of the common work, and its own work", async () => {
    const clock = new FakeClock();
    clock.now = 100;
    const timer = new StepTimer(clock.read, 4, 100);
    clock.advance(2); // regrouping
    const got = await timer.propose(async () => {
      clock.advance(6);
      return "drafts";
    });
    expect(got).toEqual({ value: "drafts", ms: 6 });
    clock.advance(1); // building inputs
    const value = await timer.forward(async () => {
      clock.advance(20);
      return 42;
    });
    expect(value).toBe(42);
    expect(timer.verifyMs).toBe(5);
    const own = timer.rowStart();
    clock.advance(3);
    expect(own()).toBe(3);
    // shared = (forwardEnd 129 - start 100 - propose 6) / 4 rows = 5.75
    const t = timer.rowTiming(1.5, 3);
    expect(t.rowMs).toBeCloseTo(1.5 + 5.75 + 3, 12);
    expect(t.verifyMs).toBe(5);
  });

  it("starts at the clock's time when no start is given, and a step without a proposer call shares everything", async () => {
    const clock = new FakeClock();
    clock.now = 50;
    const timer = new StepTimer(clock.read, 2);
    clock.advance(4);
    await timer.forward(async () => clock.advance(8));
    expect(timer.rowTiming(0, 1)).toEqual({ rowMs: (4 + 8) / 2 + 1, verifyMs: 4 });
  });
});

describe("AdaptivePolicy", () => {
  it("plain steps set the yardstick: a moving average of whole plain steps and of their part outside the forward pass", async () => {
    const sim = new Sim();
    const a = sim.policy.newState();
    expect(sim.policy.plainStepMs).toBe(0);
    await sim.step(a, PLAIN, 0);
    expect(sim.policy.plainStepMs).toBe(12); // the first sample starts the average
    expect(sim.policy.plainOverheadMs).toBe(2);
    await sim.step(a, { regroupMs: 3, forwardMs: 18, ownMs: 1 }, 0); // 22 ms, 4 outside the forward pass
    expect(sim.policy.plainStepMs).toBeCloseTo(0.9 * 12 + 0.1 * 22, 12);
    expect(sim.policy.plainOverheadMs).toBeCloseTo(0.9 * 2 + 0.1 * 4, 12);
    // A drafting step is judged, not taken as a yardstick.
    const before = sim.policy.plainStepMs;
    await sim.step(sim.policy.newState(), LOSING);
    expect(sim.policy.plainStepMs).toBe(before);
  });

  it("a new request drafts its full budget, capped by the room left", () => {
    const sim = new Sim({ maxDraft: 8 });
    const a = sim.policy.newState();
    expect(a.budget).toBe(8);
    expect(sim.policy.plan(a, 100)).toEqual({ tokens: 8, paused: false });
    expect(sim.policy.plan(a, 3)).toEqual({ tokens: 3, paused: false });
    expect(sim.policy.plan(a, 0)).toEqual({ tokens: 0, paused: false });
  });

  it("pauses a proposer whose drafts all fail and cost more than plain steps; pauses double up to MAX_PAUSE_STEPS, each ending in a probe", async () => {
    const sim = new Sim({ maxDraft: 8 });
    await sim.yardstick();
    const a = sim.policy.newState();
    // Three judged steps halve the budget (8, 4, 2 -> 1); the fourth makes the estimate count, and it loses.
    const first = await sim.run(a, LOSING, 4);
    expect(first.map((p) => p.tokens)).toEqual([8, 4, 2, 1]);
    expect(a.pauseSteps).toBe(2);
    expect(a.probing).toBe(true);
    const lengths = [2, 4, 8, 16, 32, 64, 128, MAX_PAUSE_STEPS, MAX_PAUSE_STEPS];
    // Each pause and the probe after it.
    const plans = await sim.run(a, LOSING, lengths.reduce((s, n) => s + n + 1, 0));
    // While paused: no tokens asked, and the paused steps are plain steps.
    for (const p of plans.filter((q) => q.paused)) expect(p).toEqual({ tokens: 0, paused: true });
    const runs = pauses(plans);
    expect(runs.map((r) => r.length)).toEqual(lengths);
    // Each pause ends with one probe: a draft of the (shrunken) budget.
    for (const r of runs) expect(r.then).toEqual({ tokens: 1, paused: false });
    expect(a.pauseLength).toBe(MAX_PAUSE_STEPS);
  });

  it("freeCalls: a proposer whose drafts all fail is never paused: its budget shrinks to one token and stays there", async () => {
    const sim = new Sim({ maxDraft: 8, freeCalls: true });
    await sim.yardstick();
    const a = sim.policy.newState();
    const plans = await sim.run(a, LOSING, 60);
    // The same steps pause a costly proposer for 2, 4, 8, ... steps (see above); here each step drafts, and
    // what its draft costs to verify is weighed by the width cut (batch-draft-width.ts).
    expect(plans.map((p) => p.tokens)).toEqual([8, 4, 2, ...Array(57).fill(1)]);
    expect(plans.every((p) => !p.paused)).toBe(true);
    // A new request after all that losing starts drafting its full budget.
    const b = sim.policy.newState();
    sim.policy.startFromRecent(b);
    expect(sim.policy.plan(b, 100)).toEqual({ tokens: 8, paused: false });
  });

  it("a proposer that wins keeps drafting and its budget grows back to maxDraft by 2 * (accepted + 1)", async () => {
    const sim = new Sim({ maxDraft: 8 });
    await sim.yardstick();
    const a = sim.policy.newState();
    const budgets: number[] = [];
    // Two rejected drafts (8 -> 4 -> 2), then drafts accepted whole.
    for (const shape of [{ ...WINNING, accept: () => 0 }, { ...WINNING, accept: () => 0 }, WINNING, WINNING, WINNING]) {
      await sim.step(a, shape);
      budgets.push(a.budget);
    }
    // 2 accepted -> 2 * 3 = 6; 6 accepted -> 14, capped at 8.
    expect(budgets).toEqual([4, 2, 6, 8, 8]);
    const plans = await sim.run(a, WINNING, 50);
    expect(plans.every((p) => p.tokens === 8 && !p.paused)).toBe(true);
    expect(a.pauseLength).toBe(2);
  });

  it("a partly accepted draft raises the budget to at least 2 * (accepted + 1), never above maxDraft", async () => {
    const sim = new Sim({ maxDraft: 5 });
    await sim.yardstick();
    const a = sim.policy.newState();
    await sim.step(a, { ...WINNING, accept: () => 0 }); // 5 -> 2
    expect(a.budget).toBe(2);
    await sim.step(a, { ...WINNING, accept: () => 1 }); // max(2, 4)
    expect(a.budget).toBe(4);
    await sim.step(a, { ...WINNING, accept: () => 1 }); // max(4, 4): never shrinks on an accepted token
    expect(a.budget).toBe(4);
    await sim.step(a, { ...WINNING, accept: () => 3 }); // 8, capped at 5
    expect(a.budget).toBe(5);
  });

  it("a streak of rejections in a winning proposer halves the budget to nothing, then rests SHORT_REST_STEPS (not a pause)", async () => {
    const sim = new Sim({ maxDraft: 8 });
    await sim.yardstick();
    const a = sim.policy.newState();
    await sim.run(a, WINNING, 5);
    expect(a.budget).toBe(8);
    const plans = await sim.run(a, { ...WINNING, accept: () => 0 }, 4 + SHORT_REST_STEPS + 1);
    expect(plans.map((p) => p.tokens)).toEqual([8, 4, 2, 1, ...Array(SHORT_REST_STEPS).fill(0), 1]);
    expect(plans.slice(4, 4 + SHORT_REST_STEPS).every((p) => p.paused)).toBe(true);
    expect(plans[4 + SHORT_REST_STEPS].paused).toBe(false);
    // A rest neither grows the next pause nor makes the next draft a probe.
    expect(a.pauseLength).toBe(2);
    expect(a.probing).toBe(false);
  });

  it("the free side keeps drafting at freeDraft length while the costly side is paused, and its drafts are not judged", async () => {
    // A budget of 16 halves three times (to 2) before the fourth judged step decides: no short rest first.
    const sim = new Sim({ maxDraft: 16, freeSide: true, freeDraft: 12 });
    await sim.yardstick();
    const a = sim.policy.newState();
    // Unpaused, the plan is the free side's full length (the costly side caps its own drafts).
    expect(sim.policy.plan(a, 100)).toEqual({ tokens: 12, paused: false });
    // The costly side's drafts (not free) fail: paused after four judged steps.
    await sim.run(a, { ...LOSING, found: 4 }, 4);
    expect(a.pauseSteps).toBe(2);
    expect(a.probing).toBe(true);
    const specSteps = a.specSteps;
    const plainStepMs = sim.policy.plainStepMs;
    const whilePaused = await sim.run(a, { ...LOSING, free: true }, 2);
    expect(whilePaused).toEqual([{ tokens: 12, paused: true }, { tokens: 12, paused: true }]);
    // Neither judged nor taken as plain steps.
    expect(a.specSteps).toBe(specSteps);
    expect(sim.policy.plainStepMs).toBe(plainStepMs);
    // The room still caps the free side.
    a.pauseSteps = 1;
    expect(sim.policy.plan(a, 5)).toEqual({ tokens: 5, paused: true });
  });

  it("free drafts are not judged even when the costly side is not paused", async () => {
    const sim = new Sim({ freeSide: true });
    await sim.yardstick();
    const a = sim.policy.newState();
    await sim.run(a, { ...LOSING, free: true }, 20);
    expect(a.specSteps).toBe(0);
    expect(a.pauseSteps).toBe(0);
    expect(a.budget).toBe(8);
  });

  it("a cheap call that found nothing is not judged; a costly one is", async () => {
    const sim = new Sim();
    await sim.yardstick(); // plainStepMs = 12: calls under 1.2 ms are cheap
    expect(CHEAP_CALL * sim.policy.plainStepMs).toBeCloseTo(1.2, 12);
    const a = sim.policy.newState();
    await sim.run(a, { ...LOSING, callMs: 1, found: 0 }, 20);
    expect(a.specSteps).toBe(0);
    expect(a.pauseSteps).toBe(0);
    expect(a.budget).toBe(8);
    expect(sim.policy.plainStepMs).toBe(12); // not a plain step either: the proposer was asked
    // Just above the line the call counts (its cost, no budget change), and an empty, costly call loses.
    const b = sim.policy.newState();
    await sim.step(b, { ...LOSING, callMs: 1.3, found: 0 });
    expect(b.specSteps).toBe(1);
    expect(b.budget).toBe(8);
    const plans = await sim.run(b, { ...LOSING, callMs: 1.3, found: 0 }, 3);
    expect(plans.every((p) => p.tokens === 8)).toBe(true);
    expect(b.pauseSteps).toBe(2);
  });

  it("startFromRecent: after drafting has been losing, a new request starts paused and probes within FIRST_PROBE_AFTER steps", async () => {
    const sim = new Sim({ maxDraft: 8 });
    await sim.yardstick();
    const old = sim.policy.newState();
    // Losing long enough that the last pause (16) is longer than the first probe's wait.
    await sim.run(old, LOSING, 4 + 2 + 1 + 4 + 1 + 8 + 1);
    expect(old.pauseSteps).toBe(16);
    const a = sim.policy.newState();
    sim.policy.startFromRecent(a);
    expect(a.pauseSteps).toBe(FIRST_PROBE_AFTER);
    expect(a.probing).toBe(true);
    const plans = await sim.run(a, LOSING, FIRST_PROBE_AFTER + 1);
    expect(plans.slice(0, FIRST_PROBE_AFTER).every((p) => p.paused && p.tokens === 0)).toBe(true);
    expect(plans[FIRST_PROBE_AFTER]).toEqual({ tokens: 8, paused: false });
    // The probe lost: the next pause is a long one again.
    expect(a.pauseSteps).toBeGreaterThan(FIRST_PROBE_AFTER);
  });

  it("startFromRecent: a short losing history starts paused for the last pause's length", async () => {
    const sim = new Sim();
    await sim.yardstick();
    await sim.run(sim.policy.newState(), LOSING, 4);
    const a = sim.policy.newState();
    sim.policy.startFromRecent(a);
    expect(a.pauseSteps).toBe(2);
    const plans = await sim.run(a, LOSING, 3);
    expect(plans.map((p) => p.paused)).toEqual([true, true, false]);
  });

  it("startFromRecent: after drafting has been winning, a new request starts drafting", async () => {
    const sim = new Sim({ maxDraft: 8 });
    await sim.yardstick();
    await sim.run(sim.policy.newState(), WINNING, 30);
    const a = sim.policy.newState();
    sim.policy.startFromRecent(a);
    expect(a.pauseSteps).toBe(0);
    expect(a.specSteps).toBe(4); // the estimate counts from its first drafting step
    expect(sim.policy.plan(a, 100)).toEqual({ tokens: 8, paused: false });
  });

  it("startFromRecent does nothing without a history, or when disabled", async () => {
    const sim = new Sim();
    const fresh = sim.policy.newState();
    sim.policy.startFromRecent(fresh);
    expect(fresh).toEqual(sim.policy.newState());
    const off = new Sim({ enabled: false });
    await off.yardstick();
    await off.run(off.policy.newState(), LOSING, 20);
    const a = off.policy.newState();
    off.policy.startFromRecent(a);
    expect(a).toEqual(off.policy.newState());
  });

  it("enabled: false never pauses nor changes the budget", async () => {
    const sim = new Sim({ enabled: false, maxDraft: 6 });
    await sim.yardstick();
    const a = sim.policy.newState();
    const plans = await sim.run(a, LOSING, 300);
    expect(plans.every((p) => p.tokens === 6 && !p.paused)).toBe(true);
    expect(a.budget).toBe(6);
    expect(a.specSteps).toBe(0);
    expect(sim.policy.plan(a, 2)).toEqual({ tokens: 2, paused: false });
  });

  // Regression: adapt()'s averages once started at 0, so a.plainMs after n
  // judged steps was only (1 - 0.8^n) of the real plain step (0.59 at the
  // 4th, when the check starts) while tokens/ms was unbiased: a proposer
  // winning by under ~1.78x was paused at its first check.
  it("a proposer that beats plain decoding by 1.6x is not paused on its first judged steps", async () => {
    const sim = new Sim({ maxDraft: 8 });
    await sim.yardstick(); // 12 ms a plain step
    const a = sim.policy.newState();
    // 15 ms a step, 1 draft token accepted: 2 tokens per 15 ms = 1.6x plain's 1 per 12 ms.
    const plans = await sim.run(a, { regroupMs: 1, callMs: 3, forwardMs: 10, ownMs: 1, accept: () => 1 }, 10);
    expect(plans.filter((p) => p.paused)).toEqual([]);
  });
});
