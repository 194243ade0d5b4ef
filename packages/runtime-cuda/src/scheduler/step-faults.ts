// A failing request fails alone. A forward pass over the batch that throws
// is retried row by row, each row from its own slice of the batch state: a
// row that fails alone fails (its request gets the error), the others make
// their step and rejoin the batch at the next regroup. A proposer that
// throws costs the step its drafts, nothing more: verification without
// drafts is plain decoding, so outputs are unchanged.

import type { DecoderBackend, KvRows, PassOutput } from "../backend/decoder-backend.js";
import { logitsNeed } from "../sampling/rejection-sampler.js";
import type { StepLayout } from "../verify/draft-layout.js";
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
  backend: DecoderBackend;
  faults: StepFaults;
  /** Accepts row `index` of a pass's output; returns the flags of the inputs the state keeps. */
  acceptRow(r: RequestState, index: number, layout: StepLayout, out: PassOutput): Uint8Array;
  fail(r: RequestState, err: unknown): void;
}

/**
 * Runs each row's step alone after the batched pass threw. Rows that
 * succeed keep their advanced one-row state as `ownKv` (the batch is
 * regrouped from it, as when a request joins); rows that fail alone fail.
 */
export async function isolateRows(host: IsolationHost, rows: RequestState[], layouts: StepLayout[], cache: KvRows, batchError: unknown): Promise<void> {
  host.faults.note("isolatedSteps", batchError);
  const { backend } = host;
  for (const [i, r] of rows.entries()) {
    if (r.finishReason) continue;
    const one = backend.gather([{ state: cache, row: i }]);
    try {
      const out = await backend.run(one, [{ layout: layouts[i], cachedLength: r.cachedLength }], [logitsNeed(r)]);
      const keep = host.acceptRow(r, 0, layouts[i], out);
      if (!r.finishReason) r.ownKv = await backend.advance(one, out, [keep]);
    } catch (err) {
      host.faults.note("failedRows", err);
      host.fail(r, err);
    }
  }
}
