// ChunkQueue: the stream between the engine (push, close) and the caller
// (drain). Coalescing runs on fake timers (setTimeout and performance.now),
// so no test waits on the clock.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ChunkQueue } from "../src/scheduler/chunk-queue.js";
import type { GenerationChunk } from "../src/scheduler/request.js";

const chunk = (tokenIds: number[], text: string, logprobs?: number[]): GenerationChunk => (logprobs ? { tokenIds, text, logprobs } : { tokenIds, text });

/** Whether a promise has settled, after the microtasks queued so far have run. */
async function settled(p: Promise<unknown>): Promise<boolean> {
  let done = false;
  void p.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 10; i++) await Promise.resolve();
  return done;
}

async function collect(it: AsyncGenerator<GenerationChunk>): Promise<GenerationChunk[]> {
  const out: GenerationChunk[] = [];
  for await (const c of it) out.push(c);
  return out;
}

describe("ChunkQueue without coalescing", () => {
  it("delivers each chunk as pushed, in order, then ends on close", async () => {
    const q = new ChunkQueue();
    q.push(chunk([1], "a", [-0.1]));
    q.push(chunk([2, 3], "bc", [-0.2, -0.3]));
    q.close();
    expect(await collect(q.drain())).toEqual([chunk([1], "a", [-0.1]), chunk([2, 3], "bc", [-0.2, -0.3])]);
  });

  it("wakes a waiting consumer on each push, and on close", async () => {
    const q = new ChunkQueue();
    const it = q.drain();
    const first = it.next();
    expect(await settled(first)).toBe(false);
    q.push(chunk([1], "a"));
    expect(await first).toEqual({ done: false, value: chunk([1], "a") });
    const second = it.next();
    expect(await settled(second)).toBe(false);
    q.push(chunk([2], "b"));
    expect(await second).toEqual({ done: false, value: chunk([2], "b") });
    const end = it.next();
    expect(await settled(end)).toBe(false);
    q.close();
    expect(await end).toEqual({ done: true, value: undefined });
  });

  it("ends with the error it was closed with, after the chunks before it", async () => {
    const q = new ChunkQueue();
    const boom = new Error("boom");
    q.push(chunk([1], "a"));
    q.close(boom);
    const it = q.drain();
    expect(await it.next()).toEqual({ done: false, value: chunk([1], "a") });
    await expect(it.next()).rejects.toBe(boom);
  });

  it("drains after close: pending chunks first; an empty closed queue ends at once", async () => {
    const q = new ChunkQueue();
    q.close();
    expect(await collect(q.drain())).toEqual([]);
    expect(q.done).toBe(true);
    expect(q.error).toBeNull();

    const r = new ChunkQueue();
    r.push(chunk([4], "d"));
    r.close();
    expect(await collect(r.drain())).toEqual([chunk([4], "d")]);
    // A second drain finds nothing left, and ends.
    expect(await collect(r.drain())).toEqual([]);

    const e = new ChunkQueue();
    e.close(new Error("late"));
    await expect(collect(e.drain())).rejects.toThrow("late");
  });
});

describe("ChunkQueue with coalescing", () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "performance"] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("delivers the first chunk at once, then merges the ones within the interval", async () => {
    const q = new ChunkQueue(50);
    const it = q.drain();
    const first = it.next();
    q.push(chunk([1], "a", [-1]));
    // No timer needed for the first chunk.
    expect(await settled(first)).toBe(true);
    expect((await first).value).toEqual(chunk([1], "a", [-1]));

    const second = it.next();
    await vi.advanceTimersByTimeAsync(10);
    q.push(chunk([2], "b", [-2]));
    q.push(chunk([3, 4], "cd", [-3, -4]));
    q.push(chunk([5], "e", [-5]));
    // 10 ms of the 50 have passed since the first delivery: wait for the other 40.
    await vi.advanceTimersByTimeAsync(39);
    expect(await settled(second)).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await settled(second)).toBe(true);
    expect((await second).value).toEqual(chunk([2, 3, 4, 5], "bcde", [-2, -3, -4, -5]));
    expect(vi.getTimerCount()).toBe(0);
  });

  it("delivers at once again after a quiet spell longer than the interval", async () => {
    const q = new ChunkQueue(50);
    const it = q.drain();
    q.push(chunk([1], "a"));
    await it.next();
    await vi.advanceTimersByTimeAsync(60);
    const next = it.next();
    q.push(chunk([2], "b"));
    expect(await settled(next)).toBe(true);
    expect((await next).value).toEqual(chunk([2], "b"));
    expect(vi.getTimerCount()).toBe(0);
  });

  it("merges chunks pushed before the consumer pulls, logprobs included", async () => {
    const q = new ChunkQueue(50);
    q.push(chunk([1], "a", [-1]));
    q.push(chunk([2], "b", [-2]));
    q.push(chunk([3], "c", [-3]));
    q.close();
    expect(await collect(q.drain())).toEqual([chunk([1, 2, 3], "abc", [-1, -2, -3])]);
  });

  it("merges chunks without logprobs into one without logprobs", async () => {
    const q = new ChunkQueue(50);
    q.push(chunk([1], "a"));
    q.push(chunk([2], "b"));
    q.close();
    const [only] = await collect(q.drain());
    expect(only).toEqual(chunk([1, 2], "ab"));
    expect(only.logprobs).toBeUndefined();
  });

  it("close delivers the merged chunk at once, cancels the timer, and ends (or throws)", async () => {
    for (const error of [null, new Error("stopped")]) {
      const q = new ChunkQueue(50);
      const it = q.drain();
      q.push(chunk([1], "a"));
      await it.next();
      const next = it.next();
      q.push(chunk([2], "b"));
      q.push(chunk([3], "c"));
      expect(vi.getTimerCount()).toBe(1);
      expect(await settled(next)).toBe(false);
      q.close(error);
      expect(vi.getTimerCount()).toBe(0);
      expect((await next).value).toEqual(chunk([2, 3], "bc"));
      if (error) await expect(it.next()).rejects.toBe(error);
      else expect(await it.next()).toEqual({ done: true, value: undefined });
    }
  });
});
