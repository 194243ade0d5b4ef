// One draft width for a whole batch. Every row of a forward pass is padded to
// the longest row's input, so a long draft in one row makes every row pay for
// that width. Each step therefore picks the common width w (draft tokens per
// row) that maximizes the batch's expected tokens per unit of cost of a pass
// of width w at this batch size, and cuts every draft to it. At batch 1 this
// is `cutByCost`; at batch 8 one row's long draft beside seven plain rows is
// cut to nothing, while eight rows that all draft well keep long drafts.

import type { Proposal } from "../proposers/proposer.js";
import { VerifyCost } from "./verify-cost.js";

/** Cost of a pass of R rows with k draft tokens each, relative to the same R rows with none. */
export class BatchVerifyCost {
  private constructor(
    private readonly one: VerifyCost,
    /** Absolute model: ms at batch 1 for k = 0 and the fitted batch table (null: the positions model). */
    private readonly measured: { oneMs: number; rows: number; batch: VerifyCost; batchMs: number } | null,
  ) {}

  /**
   * From a batch-1 table alone (a given `verifyCost` option): a pass costs
   * what a batch-1 pass over as many positions costs, R * (1 + k), so
   * ratio(R, k) = one.at(R(1 + k) - 1) / one.at(R - 1).
   */
  static fromTable(one: VerifyCost): BatchVerifyCost {
    return new BatchVerifyCost(one, null);
  }

  /**
   * From timings: `oneMs[k]` at batch 1 (k = 0..n), and `batchMs[i]` for
   * `ks[i]` draft tokens at batch `rows` (ks[0] = 0). Between the two batch
   * sizes the absolute time is interpolated linearly in R, which is exact
   * when a pass costs a + b * R * (1 + k) (a fixed cost per pass plus a cost
   * per position: what small decoders on a CPU show).
   */
  static fromTimings(oneMs: readonly number[], rows: number, ks: readonly number[], batchMs: readonly number[]): BatchVerifyCost {
    const one = VerifyCost.fromTimings(oneMs);
    if (rows <= 1 || ks.length < 2 || ks[0] !== 0) return new BatchVerifyCost(one, null);
    // The sparse batch table, filled in linearly between measured widths, then made monotone.
    const last = ks[ks.length - 1];
    const dense = Array.from({ length: last + 1 }, (_, k) => {
      const i = Math.max(1, ks.findIndex((x) => x >= k));
      const [k0, k1, m0, m1] = [ks[i - 1], ks[i], batchMs[i - 1], batchMs[i]];
      return m0 + ((m1 - m0) * (k - k0)) / (k1 - k0);
    });
    return new BatchVerifyCost(one, { oneMs: oneMs[0], rows, batch: VerifyCost.fromTimings(dense), batchMs: batchMs[0] });
  }

  /** The batch-1 table (what `cutByCost` and the adaptive policy's per-row judgement use). */
  get single(): VerifyCost {
    return this.one;
  }

  ratio(rows: number, k: number): number {
    if (k <= 0) return 1;
    if (rows <= 1) return this.one.at(k);
    const m = this.measured;
    if (!m) return Math.max(1, this.one.at(rows * (1 + k) - 1) / this.one.at(rows - 1));
    const t = (rows - 1) / (m.rows - 1);
    const ms = (kk: number) => {
      const a = m.oneMs * this.one.at(kk);
      return a + t * (m.batchMs * m.batch.at(kk) - a);
    };
    return Math.max(1, ms(k) / ms(0));
  }
}

/**
 * The common width (draft tokens per row) with the most expected tokens per
 * unit of pass cost: (rows + sum over rows of their kept probs) / ratio(rows, w).
 * Rows without a draft count one token each. 0 when no width beats plain steps.
 */
export function chooseWidth(drafts: readonly (Proposal | null)[], cost: BatchVerifyCost): number {
  const rows = drafts.length;
  const longest = Math.max(0, ...drafts.map((d) => d?.tokens.length ?? 0));
  let expected = rows;
  let best = 0;
  let bestValue = rows;
  for (let k = 1; k <= longest; k++) {
    for (const d of drafts) if (d && d.tokens.length >= k) expected += d.probs[k - 1];
    const value = expected / cost.ratio(rows, k);
    if (value > bestValue) {
      bestValue = value;
      best = k;
    }
  }
  return best;
}

/** Cuts each draft to at most `width` tokens (a prefix of a best-first draft is a valid draft). */
export function cutToWidth(draft: Proposal, width: number): Proposal {
  if (draft.tokens.length <= width) return draft;
  return { ...draft, tokens: draft.tokens.slice(0, width), parents: draft.parents.slice(0, width), probs: draft.probs.slice(0, width) };
}
