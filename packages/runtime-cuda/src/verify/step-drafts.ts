// A step's drafts: how many tokens each row asks for (the adaptive policy's
// plan, within its length limits), one proposer call for every row that
// asks, then each draft cut to valid ids, to what a constrained request's
// grammar allows, to a chain where the graph verifies chains only, and to
// the batch's common width (batch-draft-width.ts). A constrained request
// whose grammar forces the next text drafts that text's tokens for free
// (jump-forward), with or without a proposer. Rows that asked for nothing
// then fill the padding of the pass from a free proposer (fillPadding).

import type { AdaptivePolicy, DraftPlan } from "../adaptive/policy.js";
import type { StepTimer } from "../adaptive/state.js";
import { chainProposal, type Proposal, type Proposer } from "../proposers/proposer.js";
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
  /** The backend computes every row at the widest row's length: padding may hold free drafts (fillPadding). */
  paddedRows: boolean;
}

/** Most tokens of grammar-forced text drafted in one step. */
export const MAX_JUMP_TOKENS = 16;
/** What a forced token's acceptance is taken to be when choosing the batch's width (the model may tokenize the text otherwise). */
const JUMP_TOKEN_PROB = 0.9;

/** Draft tokens a request has room for: never past the model's length or the request's remaining tokens. */
function roomFor(host: DraftHost, r: RequestState): number {
  return Math.max(0, Math.min(host.maxModelLen - r.tokens.length - 1, r.maxTokens - r.output.length - 1));
}

/** This step's draft size for a request: none without speculation, else the policy's, within its length limits. */
export function planDraft(host: DraftHost, r: RequestState): DraftPlan {
  if (!r.speculate) return { tokens: 0, paused: false };
  return host.policy.plan(r.adaptive, roomFor(host, r));
}

/**
 * One proposer call for every row that asks; each asking row is charged an
 * equal share of its time. A proposer that throws leaves the step without
 * its drafts (plain decoding: the same tokens); the error is counted and
 * warned of. `jumped[i]`: row i's draft is its grammar's forced text.
 */
export interface StepDrafts {
  drafts: (Proposal | null)[];
  /** Milliseconds of proposer calls charged to each row. */
  proposeMs: number[];
  /** Row i's draft is its grammar's forced text. */
  jumped: boolean[];
  /** Most draft tokens each row's layout takes: its plan, its padding fill, or no limit for forced text. */
  caps: number[];
}

export async function proposeDrafts(host: DraftHost, rows: RequestState[], plans: DraftPlan[], timer: StepTimer): Promise<StepDrafts> {
  const drafts: (Proposal | null)[] = rows.map(() => null);
  const proposeMs = rows.map(() => 0);
  const asking = rows.flatMap((_r, i) => (plans[i].tokens > 0 ? [i] : []));
  const proposer = host.proposer;
  if (asking.length > 0 && proposer) {
    try {
      const got = await timer.propose(() => proposer.propose(asking.map((i) => {
        const r = rows[i];
        return { requestId: r.id, tokens: r.tokens, hidden: r.hidden, maxTokens: plans[i].tokens, paused: plans[i].paused };
      })));
      const share = got.ms / asking.length;
      asking.forEach((i, k) => {
        rows[i].metrics.proposeMs += share;
        proposeMs[i] = share;
        drafts[i] = usable(host, rows[i], got.value[k] ?? null);
      });
    } catch (err) {
      host.faults.note("proposerErrors", err);
    }
  }
  const jumped = rows.map((r, i) => {
    const forced = r.jumpForward ? r.grammar!.jumpForward(Math.min(MAX_JUMP_TOKENS, roomFor(host, r))) : [];
    if (!prefersForced(forced, drafts[i])) return false;
    drafts[i] = { ...chainProposal(forced, forced.map((_, k) => JUMP_TOKEN_PROB ** (k + 1))), free: true };
    return true;
  });
  const caps = rows.map((_r, i) => (jumped[i] ? Infinity : plans[i].tokens));
  if (drafts.every((d) => d === null)) return { drafts, proposeMs, jumped, caps };
  // One width for the batch: every row is padded to the widest anyway. Each
  // proposer draft's probs are scaled by how its drafts fared against them lately.
  const calibrated = drafts.map((d, i) => (d && !jumped[i] ? { ...d, probs: d.probs.map((p) => Math.min(1, p * rows[i].adaptive.calibration)) } : d));
  const width = host.policy.enabled ? chooseWidth(calibrated, host.policy.batchCost) : Infinity;
  const cut = drafts.map((d) => (d ? cutToWidth(d, width) : null));
  if (host.policy.enabled) await fillPadding(host, rows, plans, { drafts: cut, proposeMs, jumped, caps }, timer);
  return { drafts: cut, proposeMs, jumped, caps };
}

/** A proposer's draft cut to valid ids, to what the request's grammar allows, and to a chain where the graph verifies chains only. */
function usable(host: DraftHost, r: RequestState, draft: Proposal | null): Proposal | null {
  let d = draft;
  if (d) d = cutAtInvalid(d, host.vocabSize);
  if (d && r.grammar) d = r.grammar.cutDraft(d);
  if (d && host.chainsOnly) d = firstChain(d);
  return d;
}

/**
 * A batched pass computes every row at its widest row's input length, so a
 * row that asked for no draft (its drafting is paused) pays for that padding
 * anyway. When the proposer's drafts cost next to nothing (a suffix tree or
 * n-gram lookup), such rows are asked for a draft no longer than the
 * padding: what they get accepted is free. (The hybrid needs none of this:
 * its paused rows already draft from its suffix side.) The
 * pass never grows, and the policy does not judge these drafts (`free`), so
 * a paused row stays paused. At batch 1 there is no padding: nothing changes;
 * nor on a backend whose batches are ragged (llama.cpp).
 */
async function fillPadding(host: DraftHost, rows: RequestState[], plans: DraftPlan[], step: StepDrafts, timer: StepTimer): Promise<void> {
  const proposer = host.proposer;
  if (!host.paddedRows || !proposer?.freeDrafts) return;
  // The pass's width: each row's draft as its layout will take it.
  const pad = Math.max(0, ...step.drafts.map((d, i) => Math.min(d?.tokens.length ?? 0, step.caps[i])));
  if (pad === 0) return;
  const room = rows.map((r) => Math.min(pad, roomFor(host, r)));
  const idle = rows.flatMap((r, i) => (r.speculate && plans[i].tokens === 0 && !step.drafts[i] && room[i] > 0 ? [i] : []));
  if (idle.length === 0) return;
  try {
    const got = await timer.propose(() => proposer.propose(idle.map((i) => ({ requestId: rows[i].id, tokens: rows[i].tokens, hidden: rows[i].hidden, maxTokens: room[i], paused: true }))));
    const share = got.ms / idle.length;
    idle.forEach((i, k) => {
      rows[i].metrics.proposeMs += share;
      step.proposeMs[i] += share;
      const d = usable(host, rows[i], got.value[k] ?? null);
      if (!d || d.tokens.length === 0) return;
      step.drafts[i] = { ...cutToWidth(d, room[i]), free: true };
      step.caps[i] = room[i];
    });
  } catch (err) {
    host.faults.note("proposerErrors", err);
  }
}

/** Whether the grammar's forced tokens beat the proposer's draft: unless the draft already starts with them, the longer chain wins. */
function prefersForced(forced: readonly number[], draft: Proposal | null): boolean {
  if (forced.length === 0) return false;
  if (!draft) return true;
  const chain = firstChain(draft).tokens;
  if (forced.every((t, k) => chain[k] === t)) return false;
  return forced.length >= chain.length;
}
