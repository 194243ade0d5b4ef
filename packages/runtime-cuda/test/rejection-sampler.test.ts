// The verify walk on hand-written logits (no model): greedy keeps drafts
// equal to the argmax, sampled requests keep the output distributed exactly
// as plain sampling, and a wrong acceptance rule is caught by the same checks.
import { describe, expect, it } from "vitest";
import { rejectionSample, type AcceptRule } from "../src/sampling/acceptance.js";
import { sample, type SamplingParams } from "../src/sampling/distribution.js";
import { RejectionSampler, type SamplingRequest, type Verdict } from "../src/sampling/rejection-sampler.js";
import { uniformAt } from "../src/sampling/rng.js";
import { chainProposal, type Proposal } from "../src/proposers/proposer.js";
import { chainLayout, layoutStep, type StepLayout } from "../src/verify/draft-layout.js";
import { goodnessOfFit } from "./stats.js";

const V = 6;
const GREEDY: SamplingParams = { temperature: 0, topK: 0, topP: 1 };
const PLAIN_T1: SamplingParams = { temperature: 1, topK: 0, topP: 1 };

/** Rows of logits, one per input, flattened (each row has V values). */
function logitsOf(rows: number[][]): Float32Array {
  for (const r of rows) if (r.length !== V) throw new Error("row of the wrong size");
  return Float32Array.from(rows.flat());
}

/** A row whose argmax is `top` (other entries distinct and lower). */
function peak(top: number): number[] {
  return Array.from({ length: V }, (_, i) => (i === top ? 5 : i * 0.1));
}

/** Logits whose softmax is `p` (p > 0). */
function logitsFor(p: number[]): number[] {
  return p.map(Math.log);
}

/** Softmax of one stored row, in float64 from the float32 values: what the sampler should draw from. */
function softmaxRow(logits: Float32Array, row: number): number[] {
  const xs = Array.from(logits.subarray(row * V, (row + 1) * V));
  const m = Math.max(...xs);
  const e = xs.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

/** log softmax(x)[i], computed directly in float64. */
function logSoftmax(logits: Float32Array, row: number, i: number): number {
  const xs = Array.from(logits.subarray(row * V, (row + 1) * V));
  const m = Math.max(...xs);
  const lse = m + Math.log(xs.reduce((a, x) => a + Math.exp(x - m), 0));
  return xs[i] - lse;
}

/** p without token c, renormalized: the residual after a one-hot draft c is rejected. */
function residual(p: number[], c: number): number[] {
  const rest = 1 - p[c];
  return p.map((x, i) => (i === c ? 0 : x / rest));
}

function request(sampling: SamplingParams, seed = 0, outputLength = 0, logprobs = false): SamplingRequest {
  return { sampling, seed, outputLength, logprobs };
}

function countOf(tokens: number[]): Map<number, number> {
  const m = new Map<number, number>();
  for (const t of tokens) m.set(t, (m.get(t) ?? 0) + 1);
  return m;
}

/** Verifies the same step with seeds 0..n-1 (one uniform stream per seed). */
function drawMany(sampler: RejectionSampler, layout: StepLayout, logits: Float32Array, n: number, outputLength = 0): Verdict[] {
  const out: Verdict[] = [];
  for (let seed = 0; seed < n; seed++) out.push(sampler.verify(request(PLAIN_T1, seed, outputLength), layout, logits, 0));
  return out;
}

/** |observed share - expected| within `sigmas` binomial standard deviations. */
function expectShare(hits: number, n: number, p: number, sigmas = 4): void {
  const sd = Math.sqrt((p * (1 - p)) / n);
  expect(Math.abs(hits / n - p)).toBeLessThan(sigmas * sd);
}

describe("RejectionSampler, greedy", () => {
  const sampler = new RejectionSampler(V, rejectionSample);
  const chain = layoutStep(0, chainProposal([1, 2, 3], [0.9, 0.8, 0.7]), 8);

  it("accepts a whole chain and adds the argmax of the last position as the bonus token", () => {
    const logits = logitsOf([peak(1), peak(2), peak(3), peak(4)]);
    const v = sampler.verify(request(GREEDY), chain, logits, 0);
    expect(v.tokens).toEqual([1, 2, 3, 4]);
    expect([...v.keep]).toEqual([1, 1, 1, 1]);
    expect(v.last).toBe(3);
  });

  it("rejects at depth 0: only the target's token, only input 0 kept", () => {
    const logits = logitsOf([peak(5), peak(2), peak(3), peak(4)]);
    const v = sampler.verify(request(GREEDY), chain, logits, 0);
    expect(v.tokens).toEqual([5]);
    expect([...v.keep]).toEqual([1, 0, 0, 0]);
    expect(v.last).toBe(0);
  });

  it("rejects in the middle: the accepted prefix, then the argmax where it diverged", () => {
    // Row 2 would accept draft token 3 if the walk wrongly went on past the rejection.
    const logits = logitsOf([peak(1), peak(0), peak(3), peak(4)]);
    const v = sampler.verify(request(GREEDY), chain, logits, 0);
    expect(v.tokens).toEqual([1, 0]);
    expect([...v.keep]).toEqual([1, 1, 0, 0]);
    expect(v.last).toBe(1);
  });

  it("rejects the last draft token", () => {
    const logits = logitsOf([peak(1), peak(2), peak(5), peak(4)]);
    const v = sampler.verify(request(GREEDY), chain, logits, 0);
    expect(v.tokens).toEqual([1, 2, 5]);
    expect([...v.keep]).toEqual([1, 1, 1, 0]);
    expect(v.last).toBe(2);
  });

  it("reads the row's logits from the given offset", () => {
    // Another row's logits first; this row's start at 4 inputs in.
    const logits = logitsOf([peak(0), peak(0), peak(0), peak(0), peak(1), peak(2), peak(0), peak(4)]);
    const v = sampler.verify(request(GREEDY), chain, logits, 4 * V);
    expect(v.tokens).toEqual([1, 2, 0]);
    expect(v.last).toBe(2);
  });

  it("a plain step (no draft) emits the argmax of input 0", () => {
    const v = sampler.verify(request(GREEDY), layoutStep(3, null, 0), logitsOf([peak(4)]), 0);
    expect(v.tokens).toEqual([4]);
    expect([...v.keep]).toEqual([1]);
    expect(v.last).toBe(0);
  });

  it("honours maxDraft: drafts cut by the layout are never accepted", () => {
    const cut = layoutStep(0, chainProposal([1, 2, 3], [0.9, 0.8, 0.7]), 1);
    const v = sampler.verify(request(GREEDY), cut, logitsOf([peak(1), peak(2)]), 0);
    expect(v.tokens).toEqual([1, 2]);
    expect(v.keep.length).toBe(2);
  });

  it("walks a tree: follows the sibling equal to the argmax, then only that branch", () => {
    // inputs: 1 (tok 2) and 2 (tok 3) under 0; 3 (tok 4) under 1; 4 (tok 1) and 5 (tok 5) under 2; 6 (tok 0) under 5.
    const tree: Proposal = { tokens: [2, 3, 4, 1, 5, 0], parents: [-1, -1, 0, 1, 1, 4], probs: [0.5, 0.4, 0.3, 0.2, 0.2, 0.1], score: 1 };
    const layout = layoutStep(0, tree, 8);
    expect(layout.children).toEqual([[1, 2], [3], [4, 5], [], [], [6], []]);
    const logits = logitsOf([
      peak(3), // input 0: second sibling (input 2)
      peak(4), // input 1: would accept input 3, but the walk left this branch
      peak(5), // input 2: second child (input 5)
      peak(1),
      peak(1),
      peak(0), // input 5: its child input 6
      peak(2), // input 6: bonus
    ]);
    const v = sampler.verify(request(GREEDY), layout, logits, 0);
    expect(v.tokens).toEqual([3, 5, 0, 2]);
    expect([...v.keep]).toEqual([1, 0, 1, 0, 0, 1, 1]);
    expect(v.last).toBe(6);
  });

  it("a tree whose every sibling misses ends at input 0", () => {
    const layout = layoutStep(0, { tokens: [2, 3], parents: [-1, -1], probs: [0.5, 0.4], score: 1 }, 8);
    const v = sampler.verify(request(GREEDY), layout, logitsOf([peak(1), peak(0), peak(0)]), 0);
    expect(v.tokens).toEqual([1]);
    expect([...v.keep]).toEqual([1, 0, 0]);
    expect(v.last).toBe(0);
  });
});

describe("RejectionSampler, logprobs", () => {
  const sampler = new RejectionSampler(V, rejectionSample);
  const rows = [
    [0.3, -1.2, 2.5, 0.0, 1.1, -3.0],
    [1.0, 1.0, 0.5, 4.0, -2.0, 0.25],
    [-0.5, 0.7, 0.7, 0.1, 3.3, 2.9],
  ];
  const logits = logitsOf(rows);
  const layout = layoutStep(0, chainProposal([2, 3], [0.9, 0.8]), 8);

  it("equals an independently computed log-softmax of each emitted token, greedy", () => {
    const v = sampler.verify(request(GREEDY, 0, 0, true), layout, logits, 0);
    expect(v.tokens).toEqual([2, 3, 4]);
    v.tokens.forEach((t, j) => expect(v.logprobs[j]).toBeCloseTo(logSoftmax(logits, j, t), 6));
    for (const lp of v.logprobs) expect(lp).toBeLessThan(0);
  });

  it("equals the log-softmax of sampled tokens too (row j: the position the token came from)", () => {
    for (let seed = 0; seed < 50; seed++) {
      const v = sampler.verify(request(PLAIN_T1, seed, 7, true), layout, logits, 0);
      v.tokens.forEach((t, j) => expect(v.logprobs[j]).toBeCloseTo(logSoftmax(logits, j, t), 6));
    }
  });

  it("is all zeros when not asked for", () => {
    const v = sampler.verify(request(GREEDY), layout, logits, 0);
    expect(v.logprobs).toEqual([0, 0, 0]);
    const s = sampler.verify(request(PLAIN_T1, 3), layout, logits, 0);
    expect(s.logprobs).toEqual(s.tokens.map(() => 0));
  });
});

describe("RejectionSampler, sampled (temperature 1): the residual rule", () => {
  const N = 20_000;
  // Two rows: position 0 and, after draft token c0, position 1.
  const p0 = [0.05, 0.3, 0.25, 0.15, 0.1, 0.15];
  const p1 = [0.4, 0.05, 0.1, 0.2, 0.2, 0.05];
  const logits = logitsOf([logitsFor(p0), logitsFor(p1), logitsFor(p0)]);
  const q0 = softmaxRow(logits, 0);
  const q1 = softmaxRow(logits, 1);
  const good = new RejectionSampler(V, rejectionSample);

  /** p-value of the first emitted token against p, for a one-hot draft `c` at position 0. */
  function firstTokenFit(sampler: RejectionSampler, c: number): number {
    const verdicts = drawMany(sampler, layoutStep(0, chainProposal([c], [0.5]), 8), logits, N);
    return goodnessOfFit(countOf(verdicts.map((v) => v.tokens[0])), q0, N);
  }

  it("emits a token distributed as p, accepting draft c with probability p(c)", () => {
    const c = 1;
    const verdicts = drawMany(good, layoutStep(0, chainProposal([c], [0.5]), 8), logits, N);
    expect(goodnessOfFit(countOf(verdicts.map((v) => v.tokens[0])), q0, N)).toBeGreaterThan(0.001);
    const accepted = verdicts.filter((v) => v.keep[1] === 1);
    expectShare(accepted.length, N, q0[c]);
    // Accepting means emitting c, then one more token from position 1.
    expect(accepted.every((v) => v.tokens.length === 2 && v.tokens[0] === c && v.last === 1)).toBe(true);
  });

  it("given a rejection, the token is distributed as the residual (p without c, renormalized)", () => {
    for (const c of [1, 3, 0]) {
      const verdicts = drawMany(good, layoutStep(0, chainProposal([c], [0.5]), 8), logits, N);
      const rejections = verdicts.filter((v) => v.keep[1] === 0);
      // A rejection ends the step with the target's own token, never c.
      expect(rejections.every((v) => v.tokens.length === 1 && v.last === 0)).toBe(true);
      const rejected = rejections.map((v) => v.tokens[0]);
      expect(rejected).not.toContain(c);
      expect(goodnessOfFit(countOf(rejected), residual(q0, c), rejected.length), `draft ${c}`).toBeGreaterThan(0.001);
    }
  });

  it("the second token of a 2-token chain: given the first was accepted, it is distributed as p at position 1", () => {
    // The chain's second draft token is rejected or accepted by the same rule: either way the emitted token ~ p1.
    for (const chain of [[1, 0], [2, 3], [5, 4]]) {
      const verdicts = drawMany(good, layoutStep(0, chainProposal(chain, [0.5, 0.3]), 8), logits, N);
      const seconds = verdicts.filter((v) => v.keep[1] === 1).map((v) => v.tokens[1]);
      expectShare(seconds.length, N, q0[chain[0]]);
      expect(goodnessOfFit(countOf(seconds), q1, seconds.length), `chain ${chain}`).toBeGreaterThan(0.001);
      // And the second draft is itself accepted with probability p1(c1).
      const both = verdicts.filter((v) => v.keep[2] === 1).length;
      expectShare(both, seconds.length, q1[chain[1]]);
    }
  });

  it("multi-candidate siblings (SpecInfer): the token is distributed as p, each sibling kept with probability p(c), and the walk goes on under the kept one", () => {
    // Siblings 1 and 2 under input 0; input 3 (under sibling 1) and input 4 (under sibling 2) have different distributions.
    const tree: Proposal = { tokens: [1, 2, 0, 0], parents: [-1, -1, 0, 1], probs: [0.4, 0.3, 0.2, 0.1], score: 1 };
    const layout = layoutStep(4, tree, 8);
    const treeLogits = logitsOf([logitsFor(p0), logitsFor(p1), logitsFor(p0), peak(0), peak(0)]);
    const verdicts = drawMany(good, layout, treeLogits, N);
    expect(goodnessOfFit(countOf(verdicts.map((v) => v.tokens[0])), q0, N)).toBeGreaterThan(0.001);
    const viaFirst = verdicts.filter((v) => v.keep[1] === 1);
    const viaSecond = verdicts.filter((v) => v.keep[2] === 1);
    expectShare(viaFirst.length, N, q0[1]);
    expectShare(viaSecond.length, N, q0[2]);
    expect(verdicts.some((v) => v.keep[1] === 1 && v.keep[2] === 1)).toBe(false);
    // Under sibling 1 the next token comes from row 1 (p1), under sibling 2 from row 2 (p0).
    expect(goodnessOfFit(countOf(viaFirst.map((v) => v.tokens[1])), q1, viaFirst.length)).toBeGreaterThan(0.001);
    expect(goodnessOfFit(countOf(viaSecond.map((v) => v.tokens[1])), q0, viaSecond.length)).toBeGreaterThan(0.001);
    // Given neither sibling was kept, the token follows p without both.
    const none = verdicts.filter((v) => v.last === 0).map((v) => v.tokens[0]);
    const rest = q0.map((x, i) => (i === 1 || i === 2 ? 0 : x / (1 - q0[1] - q0[2])));
    expect(goodnessOfFit(countOf(none), rest, none.length)).toBeGreaterThan(0.001);
  });

  describe("the same checks catch wrong acceptance rules", () => {
    // Trusts the draft 90% of the time, whatever p says.
    const acceptBelow09: AcceptRule = (p, candidates, u) =>
      candidates.length > 0 && u < 0.9 ? { accepted: 0, token: candidates[0] } : { accepted: -1, token: sample(p, u) };
    // Keeps any candidate the target finds plausible enough.
    const acceptIfLikely: AcceptRule = (p, candidates, u) => {
      const i = candidates.findIndex((c) => p[c] > 0.1);
      return i >= 0 ? { accepted: i, token: candidates[i] } : rejectionSample(p, candidates, u);
    };
    // Right acceptance probability, but after a rejection samples p again instead of the residual.
    const noResidual: AcceptRule = (p, candidates, u) => {
      const x = sample(p, u);
      const i = candidates.indexOf(x);
      return i >= 0 ? { accepted: i, token: x } : { accepted: -1, token: sample(p, (u * 7919) % 1) };
    };

    it("the right rule passes", () => {
      expect(firstTokenFit(good, 1)).toBeGreaterThan(0.001);
      expect(firstTokenFit(good, 4)).toBeGreaterThan(0.001);
    });

    for (const [name, rule] of [["accept when u < 0.9", acceptBelow09], ["accept when p(c) > 0.1", acceptIfLikely], ["no residual", noResidual]] as const) {
      it(`"${name}" fails the distribution check`, () => {
        expect(firstTokenFit(new RejectionSampler(V, rule), 1)).toBeLessThan(1e-6);
      });
    }
  });
});

describe("RejectionSampler, seeded determinism", () => {
  const sampler = new RejectionSampler(V, rejectionSample);
  const rows = [
    logitsFor([0.2, 0.2, 0.2, 0.2, 0.1, 0.1]),
    logitsFor([0.1, 0.3, 0.1, 0.3, 0.1, 0.1]),
    logitsFor([0.3, 0.1, 0.2, 0.1, 0.2, 0.1]),
    logitsFor([0.15, 0.15, 0.2, 0.2, 0.15, 0.15]),
  ];
  const START = 11; // output tokens before this step

  /** Plain decoding: one step per position, with row k's logits at output position START + k. */
  function plain(seed: number): number[] {
    return rows.map((row, k) => {
      const v = sampler.verify(request(PLAIN_T1, seed, START + k), chainLayout([0]), logitsOf([row]), 0);
      expect(v.tokens.length).toBe(1);
      return v.tokens[0];
    });
  }

  /** Inverse CDF written here, so the check does not lean on the sampler's own `sample`. */
  function inverseCdf(p: number[], u: number): number {
    let acc = 0;
    for (let i = 0; i < p.length; i++) {
      acc += p[i];
      if (u < acc) return i;
    }
    return p.length - 1;
  }

  it("the same seed and position give the same token", () => {
    const logits = logitsOf([rows[0]]);
    for (let seed = 0; seed < 100; seed++) {
      const a = sampler.verify(request(PLAIN_T1, seed, 5), layoutStep(0, null, 0), logits, 0);
      const b = sampler.verify(request(PLAIN_T1, seed, 5), layoutStep(3, null, 0), logits, 0);
      expect(b.tokens).toEqual(a.tokens);
    }
  });

  it("the token at output position k is inverse-CDF(p, uniformAt(seed, k))", () => {
    for (let seed = 0; seed < 200; seed++) {
      const got = plain(seed);
      rows.forEach((_, k) => expect(got[k]).toBe(inverseCdf(softmaxRow(logitsOf(rows), k), uniformAt(seed, START + k))));
    }
  });

  it("seeded output does not depend on the draft: every verdict is a prefix of plain decoding", () => {
    let fullyAccepted = 0;
    for (let seed = 0; seed < 300; seed++) {
      const expected = plain(seed);
      const drafts = [[0, 0, 0], [1, 3, 0], [3, 1, 2], expected.slice(0, 3)];
      for (const d of drafts) {
        const v = sampler.verify(request(PLAIN_T1, seed, START), layoutStep(0, chainProposal(d, [0.5, 0.4, 0.3]), 8), logitsOf(rows), 0);
        expect(v.tokens, `seed ${seed}, draft ${d}`).toEqual(expected.slice(0, v.tokens.length));
      }
      // A draft equal to the plain output is accepted whole.
      const v = sampler.verify(request(PLAIN_T1, seed, START), layoutStep(0, chainProposal(expected.slice(0, 3), [0.5, 0.4, 0.3]), 8), logitsOf(rows), 0);
      expect(v.tokens).toEqual(expected);
      fullyAccepted++;
    }
    expect(fullyAccepted).toBe(300);
  });

  it("holds on trees too: whichever sibling is kept, the tokens are plain decoding's", () => {
    // Siblings 0..5 under input 0 (all of the vocabulary): one of them always matches.
    const tree: Proposal = { tokens: [0, 1, 2, 3, 4, 5], parents: [-1, -1, -1, -1, -1, -1], probs: [0.2, 0.2, 0.2, 0.2, 0.1, 0.1], score: 1 };
    const layout = layoutStep(0, tree, 8);
    const logits = logitsOf([rows[0], rows[1], rows[1], rows[1], rows[1], rows[1], rows[1]]);
    for (let seed = 0; seed < 200; seed++) {
      const v = sampler.verify(request(PLAIN_T1, seed, START), layout, logits, 0);
      expect(v.tokens).toEqual(plain(seed).slice(0, 2));
      expect(v.last).toBe(v.tokens[0] + 1);
    }
  });
});
