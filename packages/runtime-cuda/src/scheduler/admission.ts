// Who gets a row of the batch, and who gives one up. Up to the server's
// concurrency limit requests are admitted, but only maxBatchSize decode at
// once; first come, first served made a request of 8 tokens wait behind
// eight of 2,000. So:
//   - admission: the waiting request with the fewest tokens left to generate
//     goes first, except that one which has waited MAX_WAIT_STEPS steps goes
//     before all (oldest first): no request starves;
//   - time slices: while the batch is full and a request with at most a quarter
//     of its tokens left waits, a running request that has held its row for
//     TIME_SLICE_STEPS steps gives up its row. Its KV cache is kept (a
//     one-row copy, as a prefilled request's), as are its proposer and
//     adaptive state, so it resumes where it stopped, without a new prefill,
//     and its output is the same token for token.

/** Steps a running request keeps its row before a shorter waiting request may take it. */
export const TIME_SLICE_STEPS = 16;

/**
 * A running request gives its row only to a request with at most this share
 * of its tokens left: swapping requests of similar lengths only costs
 * regroups (and batches of equal requests would churn).
 */
export const PREEMPT_SHARE = 0.25;

/** A request that has waited this many steps is admitted before shorter ones, and cannot be passed over. */
export const MAX_WAIT_STEPS = 256;

/** What the rules read of a request. */
export interface Slot {
  /** Tokens it may still generate (max_tokens minus those generated). */
  readonly remaining: number;
  /** Step at which it (last) started waiting. */
  queuedAt: number;
  /** Step at which it (last) got its row. */
  heldSince: number;
  /** Its KV cache is held aside (a preempted request): it counts against MAX_HELD_ASIDE. */
  readonly resumable: boolean;
}

/** Index of the waiting request to admit next (-1: none), at step `now`. */
export function pickNext(waiting: readonly Slot[], now: number): number {
  let best = -1;
  for (let i = 0; i < waiting.length; i++) {
    if (best < 0 || before(waiting[i], waiting[best], now)) best = i;
  }
  return best;
}

/** Whether `a` goes before `b`: starved requests first (oldest first), then fewest tokens left, then first come. */
function before(a: Slot, b: Slot, now: number): boolean {
  const sa = now - a.queuedAt >= MAX_WAIT_STEPS;
  const sb = now - b.queuedAt >= MAX_WAIT_STEPS;
  if (sa !== sb) return sa;
  if (sa) return a.queuedAt < b.queuedAt;
  if (a.remaining !== b.remaining) return a.remaining < b.remaining;
  return a.queuedAt < b.queuedAt;
}

/**
 * Running requests to preempt at step `now` so that waiting ones with fewer
 * tokens left get rows: at most one per such waiting request, each one whose
 * time slice is over and that has at least 1 / PREEMPT_SHARE times the tokens left of the request taking its
 * place, the one with the most tokens left first. `heldAside`: preempted
 * requests already holding their cache outside the batch (at most `maxHeldAside`).
 */
export function pickPreempted<T extends Slot>(active: readonly T[], waiting: readonly Slot[], capacity: number, now: number, heldAside: number, maxHeldAside: number): T[] {
  if (active.length < capacity || waiting.length === 0) return [];
  const queue = [...waiting].sort((a, b) => (before(a, b, now) ? -1 : before(b, a, now) ? 1 : 0));
  const victims = active.filter((r) => now - r.heldSince >= TIME_SLICE_STEPS).sort((a, b) => b.remaining - a.remaining);
  const out: T[] = [];
  for (const w of queue) {
    const v = victims[out.length];
    if (!v || heldAside + out.length >= maxHeldAside) break;
    if (w.remaining <= PREEMPT_SHARE * v.remaining) out.push(v);
  }
  return out;
}
