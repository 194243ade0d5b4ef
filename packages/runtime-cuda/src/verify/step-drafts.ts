// A step's drafts: how many tokens each row asks for (the adaptive policy's
// plan, within its length limits), one proposer call for every row that
// asks, then each draft cut to valid ids, to a chain where the graph verifies
// chains only, and to the batch's common width (batch-draft-width.ts).

import type { AdaptivePolicy, DraftPlan } from "../adaptive/policy.js";
import type { StepTimer } from "../adaptive/state.js";
import type { Proposal, Proposer } from "../proposers/proposer.js";
import type { RequestState } from "../scheduler/request.js";
import type { StepFaults } from "../scheduler/step-faults.js";
import { chooseWidth, cutToWidth } from "./batch-draft-width.js";
import { cutAtInvalid, firstChain } from "./draft-layout.js";

export interface DraftHost {
  proposer: Proposer | null;
  policy: AdaptivePolicy;
  faults: StepFaults;
  vocabSize: number;
  maxModelLen: number;
  /** Drafts are reduced to their first chain: the graph's 2-D mask verifies chains only. */
  chainsOnly: boolean;
}

/** This step's draft size for a request: none without speculation, else the policy's, within its length limits. */
export function planDraft(host: DraftHost, r: RequestState): DraftPlan {
  if (!r.speculate) return { tokens: 0, paused: false };
  // Never draft past the model's length or the request's remaining tokens.
  const room = Math.max(0, Math.min(host.maxModelLen - r.tokens.length - 1, r.maxTokens - r.output.length - 1));
  return host.policy.plan(r.adaptive, room);
}

/**
 * One proposer call for every row that asks; each asking row is charged an
 * equal share of its time. A proposer that throws leaves the step without
 * drafts (plain decoding: the same tokens); the error is counted and warned of.
 */
export async function proposeDrafts(host: DraftHost, rows: RequestState[], plans: DraftPlan[], timer: StepTimer): Promise<{ drafts: (Proposal | null)[]; proposeMs: number[] }> {
  const drafts: (Proposal | null)[] = rows.map(() => null);
  const proposeMs = rows.map(() => 0);
  const asking = rows.flatMap((_r, i) => (plans[i].tokens > 0 ? [i] : []));
  if (asking.length === 0 || !host.proposer) return { drafts, proposeMs };
  const proposer = host.proposer;
  let got: { value: (Proposal | null)[]; ms: number };
  try {
    got = await timer.propose(() => proposer.propose(asking.map((i) => {
      const r = rows[i];
      return { requestId: r.id, tokens: r.tokens, hidden: r.hidden, maxTokens: plans[i].tokens, paused: plans[i].paused };
    })));
  } catch (err) {
    host.faults.note("proposerErrors", err);
    return { drafts, proposeMs };
  }
  const share = got.ms / asking.length;
  asking.forEach((i, k) => {
    rows[i].metrics.proposeMs += share;
    proposeMs[i] = share;
    let d = got.value[k] ?? null;
    if (d) d = cutAtInvalid(d, host.vocabSize);
    if (d && host.chainsOnly) d = firstChain(d);
    drafts[i] = d;
  });
  // One width for the batch: every row is padded to the widest anyway. Each
  // row's probs are scaled by how its drafts fared against them lately.
  const calibrated = drafts.map((d, i) => (d ? { ...d, probs: d.probs.map((p) => Math.min(1, p * rows[i].adaptive.calibration)) } : null));
  const width = host.policy.enabled ? chooseWidth(calibrated, host.policy.batchCost) : Infinity;
  return { drafts: drafts.map((d) => (d ? cutToWidth(d, width) : null)), proposeMs };
}
