// Who gets a row: short requests pass long ones, nobody starves, and a long
// request gives up its row only after its time slice, to a shorter one.
import { describe, expect, it } from "vitest";
import { MAX_WAIT_STEPS, pickNext, pickPreempted, TIME_SLICE_STEPS, type Slot } from "../src/scheduler/admission.js";

const slot = (remaining: number, queuedAt = 0, heldSince = 0, resumable = false): Slot & { name?: string } => ({ remaining, queuedAt, heldSince, resumable });

describe("pickNext", () => {
  it("admits the request with the fewest tokens left, first come first on ties", () => {
    expect(pickNext([slot(500, 0), slot(8, 5), slot(300, 1)], 10)).toBe(1);
    expect(pickNext([slot(8, 3), slot(8, 2)], 10)).toBe(1);
    expect(pickNext([], 10)).toBe(-1);
  });
  it("admits a request that has waited MAX_WAIT_STEPS before shorter ones (no starvation)", () => {
    expect(pickNext([slot(8, 100), slot(2000, 0)], MAX_WAIT_STEPS)).toBe(1);
    expect(pickNext([slot(8, 100), slot(2000, 0)], MAX_WAIT_STEPS - 1)).toBe(0);
  });
});

describe("pickPreempted", () => {
  const now = 100;
  const full = () => [slot(900, 0, 0), slot(50, 0, 0), slot(400, 0, now - 2), slot(700, 0, 10)];
  it("preempts, for a shorter waiting request, the running one with the most tokens left whose slice is over", () => {
    const active = full();
    expect(pickPreempted(active, [slot(8, now)], 4, now, 0, 4)).toEqual([active[0]]);
    // Two short requests wait: two rows, most tokens left first; the row held for 2 steps keeps running.
    expect(pickPreempted(active, [slot(8, now), slot(16, now)], 4, now, 0, 4)).toEqual([active[0], active[3]]);
  });
  it("preempts nobody when the batch has room, nobody waits, or the waiting request is not shorter", () => {
    const active = full();
    expect(pickPreempted(active, [slot(8, now)], 5, now, 0, 4)).toEqual([]);
    expect(pickPreempted(active, [], 4, now, 0, 4)).toEqual([]);
    expect(pickPreempted(active, [slot(950, now)], 4, now, 0, 4)).toEqual([]);
    // Similar lengths: swapping would only cost regroups.
    expect(pickPreempted(active, [slot(300, now)], 4, now, 0, 4)).toEqual([]);
    expect(pickPreempted(active, [slot(225, now)], 4, now, 0, 4)).toEqual([active[0]]);
  });
  it("lets a request keep its row for a time slice", () => {
    const active = [slot(900, 0, now - TIME_SLICE_STEPS + 1)];
    expect(pickPreempted(active, [slot(8, now)], 1, now, 0, 4)).toEqual([]);
    expect(pickPreempted(active, [slot(8, now)], 1, now + 1, 0, 4)).toEqual([active[0]]);
  });
  it("holds at most maxHeldAside caches outside the batch", () => {
    const active = full();
    expect(pickPreempted(active, [slot(8, now), slot(8, now)], 4, now, 3, 4)).toEqual([active[0]]);
    expect(pickPreempted(active, [slot(8, now)], 4, now, 4, 4)).toEqual([]);
  });
});
