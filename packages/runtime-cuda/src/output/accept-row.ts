// Accepting one row of a forward pass: the rejection sampler walks its draft,
// the verified tokens are streamed, and the row's cache flags come back. An
// error here (a custom acceptance rule that throws, say) fails this request
// alone, never the batch.

import type { Clock } from "../adaptive/state.js";
import { recordStep } from "../metrics.js";
import type { PassOutput } from "../backend/decoder-backend.js";
import type { RejectionSampler, TopLogprob } from "../sampling/rejection-sampler.js";
import type { RequestState } from "../scheduler/request.js";
import type { StepFaults } from "../scheduler/step-faults.js";
import type { StepLayout } from "../verify/draft-layout.js";

export interface AcceptHost {
  sampler: RejectionSampler;
  clock: Clock;
  faults: StepFaults;
  emit(r: RequestState, tokens: number[], logprobs: number[], top?: TopLogprob[][]): void;
  fail(r: RequestState, err: unknown): void;
}

/**
 * Verifies row `i` of a pass and streams its tokens; returns the flags of
 * the inputs the state keeps (input 0 and the accepted draft tokens;
 * rejected and padding positions are dropped). `judge` gets the draft's
 * length, the accepted count and this row's own milliseconds.
 */
export function acceptRow(host: AcceptHost, r: RequestState, i: number, layout: StepLayout, out: PassOutput,
  judge?: (draftLen: number, accepted: number, ownMs: number) => void, verifyMs = 0): Uint8Array {
  const keep = new Uint8Array(out.width);
  const t0 = host.clock();
  try {
    const verdict = host.sampler.verify(r, layout, out.row(i));
    // Only a row that drafts reads it (on llama.cpp a hidden state costs an evaluation).
    const hidden = r.speculate ? out.hidden(i, verdict.last) : null;
    if (hidden) r.hidden = hidden;
    const draftLen = layout.tokens.length - 1;
    const accepted = verdict.tokens.length - 1;
    recordStep(r.metrics, draftLen, accepted, verifyMs);
    r.metrics.sampleMs += host.clock() - t0;
    host.emit(r, verdict.tokens, verdict.logprobs, verdict.top);
    judge?.(draftLen, accepted, host.clock() - t0);
    keep.set(verdict.keep);
  } catch (err) {
    host.faults.note("failedRows", err);
    host.fail(r, err);
  }
  return keep;
}
