// Scheduling between steps: requests wait until the batch has room, are
// prefilled and join the active batch; the batch's KV state (the backend's,
// backend/decoder-backend.ts) is regrouped when its members change. Requests leave when they finish or
// are aborted, between steps. Who is admitted first, and when a long request
// gives its row to a shorter one (keeping its KV cache), is admission.ts.

import type { DecoderBackend, KvRows } from "../backend/decoder-backend.js";
import { pickNext, pickPreempted } from "./admission.js";
import type { RequestState } from "./request.js";

/** Gather the batch cache when holes make up this share of its length. */
const SQUEEZE_AT = 0.04;

export class Scheduler {
  private readonly waiting: RequestState[] = [];
  private active: RequestState[] = [];
  /** The active rows' KV state, row i belonging to `members[i]`. */
  private batch: KvRows;
  private members: RequestState[] = [];
  /** Steps run (the scheduler's clock), and requests preempted so far. */
  private steps = 0;
  preemptions = 0;

  constructor(private readonly backend: DecoderBackend, readonly maxBatchSize: number) {
    this.batch = backend.emptyBatch();
  }

  /** Requests admitted or running. */
  get size(): number {
    return this.active.length + this.waiting.length;
  }

  enqueue(r: RequestState): void {
    r.queuedAt = this.steps;
    this.waiting.push(r);
  }

  /** The next waiting request (see admission.ts), while the batch has room for it. */
  nextToAdmit(): RequestState | null {
    while (this.waiting.length > 0 && this.active.length < this.maxBatchSize) {
      const [r] = this.waiting.splice(pickNext(this.waiting, this.steps), 1);
      if (!r.finishReason) return r;
    }
    return null;
  }

  /** A prefilled (or preempted) request joins the batch at the next regroup. */
  activate(r: RequestState): void {
    r.heldSince = this.steps;
    if (!r.finishReason) this.active.push(r);
  }

  /**
   * Running requests whose time slice is over give their rows to shorter
   * waiting ones (admission.ts). Each keeps its KV state as its own
   * (`ownKv`), so it resumes without a prefill. Returns them.
   */
  preempt(): RequestState[] {
    this.prune();
    const ready = this.active.filter((r) => r.ownKv === null && this.members[r.row] === r);
    if (ready.length < this.active.length) return []; // rows not in the batch cache yet: after the next regroup
    const waiting = this.waiting.filter((r) => !r.finishReason);
    const held = waiting.filter((r) => r.resumable).length;
    const out = pickPreempted(this.active, waiting, this.maxBatchSize, this.steps, held, this.backend.maxHeldRows);
    for (const r of out) {
      r.ownKv = this.backend.detach(this.batch, r.row);
      this.active = this.active.filter((x) => x !== r);
      this.enqueue(r);
      this.preemptions++;
    }
    return out;
  }

  /** Drops a request that is waiting or running; a step in flight keeps its own row list. */
  remove(r: RequestState): void {
    const w = this.waiting.indexOf(r);
    if (w >= 0) this.waiting.splice(w, 1);
    this.active = this.active.filter((x) => x !== r);
  }

  /** Drops finished requests from the batch; returns whether any request is running. */
  prune(): boolean {
    this.active = this.active.filter((r) => !r.finishReason);
    return this.active.length > 0;
  }

  /** Removes and returns every request, waiting or running (the loop failed, or the engine closes). */
  takeAll(): RequestState[] {
    const all = [...this.active, ...this.waiting];
    this.active = [];
    this.waiting.length = 0;
    return all;
  }

  /** After the loop stops: members that finished release their rows at the next regroup. */
  settle(): void {
    this.members = this.members.filter((r) => !r.finishReason);
  }

  /**
   * The rows of the next step, with the batch cache holding them in order.
   * Every step pays for every cached position (attention, and a full-KV
   * graph's present = concat(past, new) copy), so holes left by rejected
   * drafts are squeezed out once they make up a few percent of the length:
   * one copy then saves a little on each of the following steps.
   */
  regroup(): { rows: RequestState[]; cache: KvRows } {
    this.steps++;
    const rows = this.active;
    const same = this.members.length === rows.length && rows.every((r, i) => this.members[i] === r);
    if (!same || this.backend.squeezableRatio(this.batch) >= SQUEEZE_AT) {
      const sources = rows.map((r) => (r.ownKv ? { state: r.ownKv, row: 0 } : { state: this.batch, row: r.row }));
      this.batch = this.backend.gather(sources);
      rows.forEach((r, i) => {
        r.row = i;
        r.ownKv = null;
      });
      this.members = [...rows];
    }
    return { rows, cache: this.batch };
  }

  /** The next regroup gathers every row again (rows that stepped alone hold their state in `ownKv`). */
  invalidate(): void {
    this.members = [];
  }

  /** The batch state after a step. */
  update(cache: KvRows): void {
    this.batch = cache;
  }

  /** Where a request's KV state is: its own, its row of the batch, or nowhere (not prefilled). */
  kvOf(r: RequestState): { state: KvRows; row: number } | null {
    if (r.ownKv) return { state: r.ownKv, row: 0 };
    return r.row >= 0 && this.members[r.row] === r ? { state: this.batch, row: r.row } : null;
  }
}
