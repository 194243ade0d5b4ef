// Laying out and cutting drafts.
import { describe, expect, it } from "vitest";
import { cutByCost, firstChain, layoutStep } from "../src/verify/draft-layout.js";

describe("cutByCost", () => {
  const draft = { tokens: [1, 2, 3, 4], parents: [-1, 0, 1, 2], probs: [0.9, 0.8, 0.1, 0.05], score: 1.85 };
  it("keeps the prefix with the most expected tokens per unit of cost", () => {
    // (1 + 0.9 + 0.8) / (1 + 0.1 * 2) = 2.25 beats 2 tokens more at 0.15 in total.
    expect(cutByCost(draft, 0.1).tokens).toEqual([1, 2]);
    expect(cutByCost(draft, 0).tokens).toEqual([1, 2, 3, 4]);
    expect(cutByCost(draft, 5).tokens).toEqual([]);
  });
  it("keeps a best-first tree's prefix valid", () => {
    const tree = { tokens: [1, 2, 3, 4], parents: [-1, -1, 0, 1], probs: [0.6, 0.4, 0.3, 0.1], score: 1.4 };
    const cut = cutByCost(tree, 0.2);
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
