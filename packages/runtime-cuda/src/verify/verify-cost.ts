// What verifying k draft tokens costs, relative to a plain step (k = 0).
//
// Small decoders on a CPU are not linear in k: going from one input position
// to two can cost as much as the next ten (a GEMV becomes a GEMM, a thread
// joins in), so a measured table, not a slope, decides how long a draft pays.

export class VerifyCost {
  /** relative[k]: cost of verifying k draft tokens / cost of a plain step; non-decreasing, relative[0] = 1. */
  readonly relative: readonly number[];

  private constructor(relative: number[]) {
    this.relative = relative;
  }

  /** A straight line: 1 + slope * k (slope 0: drafts are free to verify, so never cut). */
  static linear(slope: number, maxDraft = 16): VerifyCost {
    return new VerifyCost(Array.from({ length: maxDraft + 1 }, (_, k) => 1 + slope * k));
  }

  /**
   * From measured times (ms[k] for k draft tokens): relative to ms[0], made
   * non-decreasing by isotonic regression (pool adjacent violators), which
   * irons out timer noise without letting one slow sample raise every entry
   * after it.
   */
  static fromTimings(ms: readonly number[]): VerifyCost {
    if (ms.length === 0 || !(ms[0] > 0)) throw new Error("VerifyCost.fromTimings needs a positive time for k = 0");
    const rel = ms.map((m) => m / ms[0]);
    const blocks: { sum: number; n: number }[] = [];
    for (const x of rel) {
      blocks.push({ sum: x, n: 1 });
      while (blocks.length > 1) {
        const b = blocks[blocks.length - 1];
        const a = blocks[blocks.length - 2];
        if (a.sum / a.n <= b.sum / b.n) break;
        blocks.splice(-2, 2, { sum: a.sum + b.sum, n: a.n + b.n });
      }
    }
    const fitted: number[] = [];
    for (const b of blocks) for (let i = 0; i < b.n; i++) fitted.push(b.sum / b.n);
    // Anchor k = 0 at exactly 1 (it is the unit); never below it after.
    return new VerifyCost(fitted.map((x, k) => (k === 0 ? 1 : Math.max(1, x))));
  }

  /** Relative cost of k draft tokens; past the table, the last segment's slope carries on. */
  at(k: number): number {
    const t = this.relative;
    if (k < t.length) return t[k];
    const n = t.length - 1;
    const slope = n > 0 ? Math.max(0, (t[n] - t[0]) / n) : 0;
    return t[n] + slope * (k - n);
  }

  /** Mean extra cost of one more token over the table (a summary for logs and docs). */
  get slope(): number {
    const n = this.relative.length - 1;
    return n > 0 ? (this.relative[n] - 1) / n : 0;
  }
}
