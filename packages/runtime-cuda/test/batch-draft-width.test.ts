// One draft width per batch: a long draft in one row must not make every row
// of the batch pay for it, and drafts that all pay keep their length.
import { describe, expect, it } from "vitest";
import type { Proposal } from "../src/proposers/proposer.js";
import { BatchVerifyCost, chooseWidth, cutToWidth } from "../src/verify/batch-draft-width.js";
import { cutByCost } from "../src/verify/draft-layout.js";
import { VerifyCost } from "../src/verify/verify-cost.js";

const chain = (probs: number[]): Proposal => ({ tokens: probs.map((_, i) => 100 + i), parents: probs.map((_, i) => i - 1), probs, score: 0 });
// What small decoders on a CPU show: a fixed cost per pass plus a cost per position (ms).
const a = 7;
const b = 0.25;
const timings = (rows: number, ks: number[]) => ks.map((k) => a + b * rows * (1 + k));
const ONE = timings(1, Array.from({ length: 17 }, (_, k) => k));
const KS = [0, 1, 2, 4, 8, 16];
const measured = BatchVerifyCost.fromTimings(ONE, 8, KS, timings(8, KS));

describe("BatchVerifyCost", () => {
  it("is exact for a fixed cost per pass plus a cost per position, at every batch size", () => {
    for (const rows of [1, 2, 3, 5, 8]) {
      for (const k of [0, 1, 3, 6, 12, 16]) {
        expect(measured.ratio(rows, k)).toBeCloseTo((a + b * rows * (1 + k)) / (a + b * rows), 6);
      }
    }
  });
  it("models batches from a batch-1 table alone by positions", () => {
    const cost = BatchVerifyCost.fromTable(VerifyCost.fromTimings(ONE));
    // 8 rows of 1 + 3 inputs: 32 positions, past the table: the line carries on.
    expect(cost.ratio(8, 3)).toBeCloseTo((a + b * 32) / (a + b * 8), 6);
    expect(cost.ratio(1, 5)).toBeCloseTo(VerifyCost.fromTimings(ONE).at(5), 6);
    expect(BatchVerifyCost.fromTable(VerifyCost.linear(0)).ratio(8, 16)).toBe(1); // free drafts: never cut
  });
});

describe("chooseWidth", () => {
  it("is cutByCost for one row", () => {
    const table = VerifyCost.fromTimings([1, 1.6, 1.65, 1.8, 1.9]);
    for (const probs of [[0.9, 0.8, 0.1, 0.05], [0.5, 0.05, 0.01, 0.01], [0.99, 0.98, 0.97, 0.96]]) {
      const d = chain(probs);
      expect(chooseWidth([d], BatchVerifyCost.fromTable(table))).toBe(cutByCost(d, table).tokens.length);
    }
  });
  it("cuts one row's long draft to nothing beside seven plain rows", () => {
    const long = chain(Array.from({ length: 16 }, () => 0.9));
    // Alone, the whole draft pays.
    expect(chooseWidth([long], measured)).toBe(16);
    // In a batch of 8 whose other rows have nothing to verify, no width pays for its padding.
    expect(chooseWidth([long, null, null, null, null, null, null, null], measured)).toBe(0);
  });
  it("keeps long drafts when every row drafts well, and stops where the batch's gain no longer pays", () => {
    const rows = Array.from({ length: 8 }, () => chain(Array.from({ length: 16 }, (_, i) => 0.95 ** (i + 1))));
    expect(chooseWidth(rows, measured)).toBeGreaterThanOrEqual(8);
    const shaky = Array.from({ length: 8 }, () => chain([0.9, 0.5, 0.1, 0.05, 0.01]));
    const w = chooseWidth(shaky, measured);
    expect(w).toBeGreaterThan(0);
    expect(w).toBeLessThan(4);
  });
  it("cutToWidth keeps a valid prefix", () => {
    const tree: Proposal = { tokens: [1, 2, 3, 4], parents: [-1, -1, 0, 1], probs: [0.6, 0.4, 0.3, 0.1], score: 1.4 };
    const cut = cutToWidth(tree, 2);
    expect(cut.tokens).toEqual([1, 2]);
    expect(cut.parents).toEqual([-1, -1]);
    expect(cutToWidth(tree, 9)).toBe(tree);
  });
});
