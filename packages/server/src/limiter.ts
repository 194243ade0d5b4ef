// Admission control: at most `capacity` generations in flight (running or
// queued in the engine); a request that would exceed it gets a 429 at once
// instead of waiting in an unbounded queue.

export class Limiter {
  private used = 0;
  private idleWaiters: (() => void)[] = [];

  constructor(readonly capacity: number) {}

  get inFlight(): number {
    return this.used;
  }

  /** Takes n slots, or returns false when they are not all free. */
  tryAcquire(n: number): boolean {
    if (this.used + n > this.capacity) return false;
    this.used += n;
    return true;
  }

  release(n: number): void {
    this.used = Math.max(0, this.used - n);
    if (this.used === 0) for (const w of this.idleWaiters.splice(0)) w();
  }

  /** Resolves when nothing is in flight. */
  idle(): Promise<void> {
    return this.used === 0 ? Promise.resolve() : new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
