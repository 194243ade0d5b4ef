// A failing request fails alone. A forward pass over the batch that throws
// is retried row by row, each row from its own slice of the batch cache: a
// row that fails alone fails (its request gets the error), the others make
// their step and rejoin the batch at the next regroup. A proposer that
// throws costs the step its drafts, nothing more: verification without
// drafts is plain decoding, so outputs are unchanged.

import { BatchKvCache } from "../kv/batch-kv-cache.js";
import type { ForwardOutput, ForwardPass } from "../model/forward.js";
import type { StepLayout } from "../verify/draft-layout.js";
import type { StepInputs } from "../verify/step-inputs.js";
import type { RequestState } from "./request.js";

/** What went wrong in steps, counted (the engine's `faults`). */
export class StepFaults {
  /** Proposer calls that threw (those steps ran without drafts). */
  proposerErrors = 0;
  /** Batched forward passes that threw and were retried row by row. */
  isolatedSteps = 0;
  /** Requests failed by an error of their own row (alone, or while accepting its tokens). */
  failedRows = 0;

  /** Counts a fault and warns on the 1st, 2nd, 4th, 8th... of its kind (a fault on every step must not flood the log). */
  note(kind: "proposerErrors" | "isolatedSteps" | "failedRows", err: unknown): void {
    const n = ++this[kind];
    if ((n & (n - 1)) === 0) {
      process.emitWarning(`${kind} (${n} so far): ${err instanceof Error ? err.message : String(err)}`, { code: "GLIMPSE_STEP_FAULT" });
    }
  }
}

/** What isolating a failed pass needs of the engine. */
export interface IsolationHost {
  forward: ForwardPass;
  faults: StepFaults;
  inputs(rows: RequestState[], layouts: StepLayout[], cache: BatchKvCache): StepInputs;
  /** Accepts row `index` of a pass's output; returns the flags of the positions the cache keeps. */
  acceptRow(r: RequestState, index: number, layout: StepLayout, out: ForwardOutput, width: number): Uint8Array;
  fail(r: RequestState, err: unknown): void;
}

/**
 * Runs each row's step alone after the batched pass threw. Rows that
 * succeed keep their advanced one-row cache as `prefillCache` (the batch is
 * regrouped from it, as when a request joins); rows that fail alone fail.
 */
export async function isolateRows(host: IsolationHost, rows: RequestState[], layouts: StepLayout[], cache: BatchKvCache, batchError: unknown): Promise<void> {
  host.faults.note("isolatedSteps", batchError);
  for (const [i, r] of rows.entries()) {
    if (r.finishReason) continue;
    const one = BatchKvCache.gather(host.forward.kvShape, [{ cache, row: i }], host.forward.kvRoom);
    try {
      const inputs = host.inputs([r], [layouts[i]], one);
      const out = await host.forward.run(inputs, one);
      const keep = host.acceptRow(r, 0, layouts[i], out, inputs.width);
      if (!r.finishReason) r.prefillCache = host.forward.advance(one, out, [keep]);
    } catch (err) {
      host.faults.note("failedRows", err);
      host.fail(r, err);
    }
  }
}
