// The output stream of one request, between the engine and its caller.

import type { GenerationChunk } from "./request.js";

/**
 * Output stream of a request: chunks pushed by the engine, pulled by the
 * caller. With `coalesceMs` > 0 the caller is woken at most that often, and
 * chunks made in between are merged into one: a consumer with work per chunk
 * (an HTTP server serializing and writing events) then does it once per
 * interval instead of once per decoding step. The first chunk after a quiet
 * spell is delivered at once.
 */
export class ChunkQueue {
  private readonly items: GenerationChunk[] = [];
  private wake: (() => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  private lastDelivery = -Infinity;
  done = false;
  error: unknown = null;

  constructor(private readonly coalesceMs = 0) {}

  push(chunk: GenerationChunk): void {
    const last = this.items[this.items.length - 1];
    if (this.coalesceMs > 0 && last) {
      last.tokenIds.push(...chunk.tokenIds);
      last.text += chunk.text;
      if (chunk.logprobs) (last.logprobs ??= []).push(...chunk.logprobs);
      if (chunk.topLogprobs) (last.topLogprobs ??= []).push(...chunk.topLogprobs);
    } else {
      this.items.push(chunk);
    }
    const wait = this.lastDelivery + this.coalesceMs - performance.now();
    if (wait <= 0) this.notify();
    else this.timer ??= setTimeout(() => this.notify(), wait);
  }

  close(error: unknown = null): void {
    this.done = true;
    this.error = error;
    this.notify();
  }

  private notify(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  async *drain(): AsyncGenerator<GenerationChunk> {
    for (;;) {
      while (this.items.length > 0) {
        this.lastDelivery = performance.now();
        yield this.items.shift()!;
      }
      if (this.done) {
        if (this.error) throw this.error;
        return;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }
}
