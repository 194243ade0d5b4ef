// Laying out and cutting drafts.
import { describe, expect, it } from "vitest";
import { cutByCost, firstChain, layoutStep } from "../src/verify/draft-layout.js";
import { VerifyCost } from "../src/verify/verify-cost.js";

describe("cutByCost", () => {
  const draft = { tokens: [1, 2, 3, 4], parents: [-1, 0, 1, 2], probs: [0.9, 0.8, 0.1, 0.05], score: 1.85 };
  it("keeps the prefix with the most expected tokens per unit of cost", () => {
    // (1 + 0.9 + 0.8) / (1 + 0.1 * 2) = 2.25 beats 2 tokens more at 0.15 in total.
    expect(cutByCost(draft, VerifyCost.linear(0.1)).tokens).toEqual([1, 2]);
    expect(cutByCost(draft, VerifyCost.linear(0)).tokens).toEqual([1, 2, 3, 4]);
    expect(cutByCost(draft, VerifyCost.linear(5)).tokens).toEqual([]);
  });
  it("follows a measured table, not a line", () => {
    // One extra position costs 60%, later ones little: 0.9 alone does not pay, 0.9 + 0.8 does.
    const table = VerifyCost.fromTimings([1, 1.6, 1.65, 1.8, 1.9]);
    expect(cutByCost(draft, table).tokens).toEqual([1, 2]);
    expect(cutByCost({ ...draft, probs: [0.5, 0.05, 0.01, 0.01] }, table).tokens).toEqual([]);
  });
  it("keeps a best-first tree's prefix valid", () => {
    const tree = { tokens: [1, 2, 3, 4], parents: [-1, -1, 0, 1], probs: [0.6, 0.4, 0.3, 0.1], score: 1.4 };
    const cut = cutByCost(tree, VerifyCost.linear(0.2));
    cut.parents.forEach((p, i) => expect(p).toBeLessThan(i));
  });
});

describe("layout", () => {
  it("places tree nodes by depth and links children", () => {
    const lay = layoutStep(9, { tokens: [1, 2, 3], parents: [-1, -1, 0], probs: [0.5, 0.4, 0.3], score: 1.2 }, 8);
    expect(lay.tokens).toEqual([9, 1, 2, 3]);
    expect(lay.depth).toEqual([0, 1, 1, 2]);
    expect(lay.children[0]).toEqual([1, 2]);
    expect(lay.children[1]).toEqual([3]);
  });
  it("keeps the first chain for chain-only models", () => {
    const chain = firstChain({ tokens: [1, 2, 3, 4], parents: [-1, -1, 0, 2], probs: [0.5, 0.4, 0.3, 0.2], score: 1.4 });
    expect(chain.tokens).toEqual([1, 3, 4]);
    expect(chain.probs).toEqual([0.5, 0.3, 0.2]);
  });
});

describe("VerifyCost", () => {
  it("normalizes by the plain step and irons timer noise into a non-decreasing table", () => {
    const c = VerifyCost.fromTimings([2, 3, 2.8, 3.2, 6, 3.4]);
    expect(c.relative[0]).toBe(1);
    for (let k = 1; k < c.relative.length; k++) expect(c.relative[k]).toBeGreaterThanOrEqual(c.relative[k - 1]);
    // The dip at k = 2 is pooled with k = 1; the spike at 4 with 5.
    expect(c.relative[1]).toBeCloseTo(1.45);
    expect(c.relative[2]).toBeCloseTo(1.45);
    expect(c.relative[4]).toBeCloseTo(2.35);
  });
  it("extends past the table with its mean slope", () => {
    const c = VerifyCost.linear(0.25, 4);
    expect(c.at(4)).toBeCloseTo(2);
    expect(c.at(8)).toBeCloseTo(3);
  });
});
