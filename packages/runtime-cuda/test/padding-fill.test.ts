// A batched pass computes every row at its widest row's input length. Rows
// whose drafting is paused get a draft from a free proposer (the suffix
// tree) cut to that padding: never a wider pass, never a draft at batch 1,
// never for a request that opted out of speculation.
import { describe, expect, it } from "vitest";
import { AdaptivePolicy } from "../src/adaptive/policy.js";
import { AdaptiveState, StepTimer, performanceClock } from "../src/adaptive/state.js";
import type { Proposer } from "../src/proposers/proposer.js";
import { SuffixProposer } from "../src/proposers/suffix.js";
import type { RequestState } from "../src/scheduler/request.js";
import { StepFaults } from "../src/scheduler/step-faults.js";
import { planDraft, proposeDrafts, type DraftHost } from "../src/verify/step-drafts.js";
import { VerifyCost } from "../src/verify/verify-cost.js";

// A prompt that repeats a phrase: the suffix tree drafts the phrase's continuation from it.
const phrase = [11, 12, 13, 14, 15, 16, 17, 18, 19, 20];
const repeating = (n: number) => Array.from({ length: n }, () => phrase).flat().concat(phrase.slice(0, 2));

/** What proposeDrafts reads of a request (the fields a RequestState has), with a real adaptive state. */
function row(id: number, tokens: number[], paused: boolean, speculate = true): RequestState {
  const adaptive = new AdaptiveState(16);
  if (paused) adaptive.pauseSteps = 100;
  return { id, tokens, hidden: undefined, speculate, adaptive, maxTokens: 1000, output: [], grammar: null, jumpForward: false, metrics: { proposeMs: 0 } } as unknown as RequestState;
}

function setup(proposer: Proposer, verifyCost = VerifyCost.linear(0), paddedRows = true): DraftHost {
  const policy = new AdaptivePolicy({ enabled: true, maxDraft: 16, freeSide: false, freeDraft: 16 });
  policy.verifyCost = verifyCost; // linear(0): drafts cost nothing, so the batch keeps its longest draft
  return { proposer, policy, faults: new StepFaults(), vocabSize: 1000, maxModelLen: 4096, chainsOnly: false, paddedRows };
}

function suffixProposer(): SuffixProposer {
  return new SuffixProposer({ maxTreeDepth: 24, maxCachedRequests: 16, maxSpecTokens: 24, maxSpecFactor: 1, maxSpecOffset: 0, minTokenProb: 0.1, useTreeSpec: false });
}

async function step(host: DraftHost, rows: RequestState[]) {
  for (const r of rows) host.proposer!.begin(r.id, r.tokens);
  const plans = rows.map((r) => planDraft(host, r));
  return { plans, ...(await proposeDrafts(host, rows, plans, new StepTimer(performanceClock, rows.length))) };
}

describe("filling a pass's padding from a free proposer", () => {
  it("gives a paused row a free draft no longer than the batch's widest", async () => {
    const host = setup(suffixProposer());
    const drafting = row(1, repeating(3), false);
    const paused = row(2, repeating(4), true);
    const s = await step(host, [drafting, paused]);
    expect(s.plans.map((p) => p.tokens)).toEqual([16, 0]); // the policy asked the paused row for nothing
    const widest = s.drafts[0]!.tokens.length;
    expect(widest).toBeGreaterThan(0);
    const fill = s.drafts[1];
    expect(fill).not.toBeNull();
    expect(fill!.free).toBe(true); // the policy does not judge it: the row stays paused
    expect(fill!.tokens.length).toBeGreaterThan(0);
    expect(fill!.tokens.length).toBeLessThanOrEqual(widest);
    expect(fill!.tokens).toEqual([13, 14, 15, 16, 17, 18, 19, 20, 11, 12, 13, 14, 15, 16, 17, 18].slice(0, fill!.tokens.length));
    expect(s.caps[1]).toBe(widest);
    expect(paused.adaptive.pauseSteps).toBe(99);
    expect(s.proposeMs[1]).toBeGreaterThan(0); // its lookup is charged to it
  });

  it("cuts the fill to the padding when the widest draft is short", async () => {
    const host = setup(suffixProposer());
    const drafting = row(1, [5, 6, 7, 8, 5, 6, 7], false); // one earlier occurrence: a short draft
    const paused = row(2, repeating(4), true);
    const s = await step(host, [drafting, paused]);
    const widest = s.drafts[0]!.tokens.length;
    expect(widest).toBeGreaterThan(0);
    expect(widest).toBeLessThan(8);
    expect(s.drafts[1]!.tokens.length).toBe(widest);
  });

  it("adds nothing at batch 1, when no row drafts, or for a request that opted out", async () => {
    const host = setup(suffixProposer());
    expect((await step(host, [row(1, repeating(4), true)])).drafts).toEqual([null]);
    const none = await step(host, [row(2, [1, 2, 3, 4], false), row(3, repeating(4), true)]);
    expect(none.drafts).toEqual([null, null]); // the first row found nothing: there is no padding
    const optOut = await step(host, [row(4, repeating(3), false), row(5, repeating(4), false, false)]);
    expect(optOut.drafts[0]).not.toBeNull();
    expect(optOut.drafts[1]).toBeNull();
  });

  it("adds nothing on a backend whose batches are ragged (llama.cpp: padding costs nothing there, a draft would)", async () => {
    const host = setup(suffixProposer(), VerifyCost.linear(0), false);
    const s = await step(host, [row(1, repeating(3), false), row(2, repeating(4), true)]);
    expect(s.drafts[0]!.tokens.length).toBeGreaterThan(0);
    expect(s.drafts[1]).toBeNull();
  });

  it("never widens the pass: a batch cut to plain steps stays plain", async () => {
    // Drafting costs as much as a whole extra pass per token: no width pays, so nothing is padded.
    const host = setup(suffixProposer(), VerifyCost.fromTimings([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]));
    const s = await step(host, [row(1, repeating(3), false), row(2, repeating(4), true)]);
    expect(s.drafts.map((d) => d?.tokens.length ?? 0)).toEqual([0, 0]);
  });
});
