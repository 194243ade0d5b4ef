// The n-gram proposer must choose exactly the match vLLM's `ngram` method
// chooses (vllm/v1/spec_decode/ngram_proposer.py,
// `_find_longest_matched_ngram_and_propose_tokens`): the longest n in
// [minN, maxN], its earliest occurrence, up to k tokens after it, cut at the
// end of the context; and find it in linear time.
import { describe, expect, it } from "vitest";
import { NgramProposer } from "../src/proposers/ngram.js";

function draft(minN: number, maxN: number, k: number, tokens: readonly number[], maxTokens = 1000): number[] | null {
  return new NgramProposer(minN, maxN, k).proposeOne({ requestId: 0, tokens, maxTokens })?.tokens ?? null;
}

/**
 * Straightforward quadratic reference, written from the rule (not from either
 * implementation): for n from the largest down, scan starts from the left and
 * take the first occurrence that ends before the last token.
 */
function reference(minN: number, maxN: number, k: number, t: readonly number[]): number[] | null {
  const T = t.length;
  for (let n = Math.min(maxN, T - 1); n >= minN; n--) {
    for (let s = 0; s + n <= T - 1; s++) {
      let same = true;
      for (let j = 0; j < n && same; j++) same = t[s + j] === t[T - n + j];
      if (same) return t.slice(s + n, Math.min(s + n + k, T));
    }
  }
  return null;
}

/** mulberry32: a small seeded PRNG, so failures reproduce. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("vLLM's worked examples", () => {
  it("NgramProposer.propose docstring: [1,2,3,4,2,3], min_n 2, max_n 3, k 4 -> [4,2,3]", () => {
    // "The last 3 (= max_n) tokens [4,2,3] cannot find a match. The last 2
    // tokens [2,3] will be matched against the previous 4 tokens [1,2,3,4].
    // [...] Here we will return [4,2,3] because we only have three tokens
    // after the match."
    expect(draft(2, 3, 4, [1, 2, 3, 4, 2, 3])).toEqual([4, 2, 3]);
  });

  // vLLM's tests/v1/spec_decode/test_ngram.py, as (min_n, max_n, k, context, expected).
  const cases: [number, number, number, number[], number[] | null][] = [
    [2, 2, 2, [1, 2, 3, 4, 1, 2, 3, 5, 6], null],
    [2, 2, 3, [1, 2, 3, 4, 1, 2, 3], [4, 1, 2]],
    [2, 2, 2, [1, 2, 3, 4, 1, 2, 3], [4, 1]],
    [1, 1, 3, [1, 2, 3, 4, 1, 2, 3], [4, 1, 2]],
    [1, 1, 2, [1, 2, 3, 4, 1, 2, 3], [4, 1]],
    [2, 2, 3, [1, 3, 6, 2, 3, 4, 1, 2, 3], [4, 1, 2]],
    // "Return on the first match"
    [1, 1, 2, [1, 3, 6, 2, 3, 4, 1, 2, 3], [6, 2]],
    // "No match."
    [2, 2, 2, [1, 2, 3, 4, 5], null],
    // "No match for 4-gram."
    [4, 4, 2, [1, 2, 3, 4, 1, 2, 3], null],
    // "No match for 4-gram but match for 3-gram."
    [3, 4, 2, [1, 2, 3, 4, 1, 2, 3], [4, 1]],
    // "Match for both 4-gram and 3-gram": the 4-gram wins. "Not [5, 1]"
    [3, 4, 2, [2, 3, 4, 5, 1, 2, 3, 4, 1, 2, 3, 4], [1, 2]],
    // "Match for 2-gram and 3-gram, but not 4-gram." "Not [5, 2]"
    [2, 4, 2, [3, 4, 5, 2, 3, 4, 1, 2, 3, 4], [1, 2]],
    // "Multiple 3-gram matched, but always pick the first one."
    [3, 3, 2, [1, 2, 3, 100, 1, 2, 3, 200, 1, 2, 3, 300, 1, 2, 3], [100, 1]],
  ];
  for (const [minN, maxN, k, context, expected] of cases) {
    it(`min ${minN} max ${maxN} k ${k}: ${JSON.stringify(context)} -> ${JSON.stringify(expected)}`, () => {
      expect(draft(minN, maxN, k, context)).toEqual(expected);
    });
  }
});

describe("n bounds", () => {
  it("maxN caps n, which can change the occurrence", () => {
    const t = [2, 3, 9, 1, 2, 3, 8, 1, 2, 3];
    // [1,2,3] first occurs at 3 (then 8); [2,3] first at 0 (then 9).
    expect(draft(1, 3, 1, t)).toEqual([8]);
    expect(draft(1, 2, 1, t)).toEqual([9]);
  });

  it("minN rejects matches shorter than it", () => {
    const t = [1, 2, 5, 3, 4, 5];
    expect(draft(1, 3, 3, t)).toEqual([3, 4, 5]);
    expect(draft(2, 3, 3, t)).toBeNull();
  });

  it("a longer n wins over a shorter n with an earlier occurrence", () => {
    // [7] first occurs at 0 (then 1), [5,7] only at 3 (then 2).
    expect(draft(1, 2, 1, [7, 1, 1, 5, 7, 2, 5, 7])).toEqual([2]);
  });

  it("maxN beyond the context is capped by it", () => {
    expect(draft(1, 64, 4, [4, 4, 4])).toEqual([4]);
    expect(draft(3, 64, 4, [4, 4, 4])).toBeNull();
  });
});

describe("no match", () => {
  it("gives null for empty, one-token and too-short contexts", () => {
    expect(draft(1, 3, 4, [])).toBeNull();
    expect(draft(1, 3, 4, [5])).toBeNull();
    expect(draft(2, 3, 4, [5, 5])).toBeNull(); // the only earlier start would be the suffix itself
    expect(draft(1, 3, 4, [5, 5])).toEqual([5]);
  });

  it("gives null for a context without repeats", () => {
    expect(draft(1, 5, 4, [1, 2, 3, 4, 5, 6, 7, 8])).toBeNull();
  });
});

describe("matches near the end", () => {
  it("an occurrence ending just before the last token drafts that token alone", () => {
    expect(draft(1, 2, 5, [9, 7, 7])).toEqual([7]);
  });

  it("an occurrence overlapping the suffix counts, and the draft stops at the end", () => {
    // [1,1,1] first occurs at 0, overlapping the suffix at 2: draft t[3..5).
    expect(draft(1, 3, 5, [1, 1, 1, 1, 1])).toEqual([1, 1]);
    expect(draft(1, 4, 5, [1, 2, 1, 2, 1])).toEqual([2, 1]);
  });

  it("a match whose continuation is the suffix drafts the suffix", () => {
    expect(draft(1, 2, 5, [4, 5, 4, 5])).toEqual([4, 5]);
  });
});

describe("draft length", () => {
  const t = [1, 2, 3, 4, 5, 6, 7, 8, 1, 2];
  it("is k = min(maxTokens, input.maxTokens), cut at the end of the context", () => {
    expect(draft(2, 2, 3, t)).toEqual([3, 4, 5]);
    expect(draft(2, 2, 8, t, 2)).toEqual([3, 4]);
    expect(draft(2, 2, 100, t)).toEqual([3, 4, 5, 6, 7, 8, 1, 2]);
  });

  it("carries chain parents and probs 0.7^(i+1), score their sum", () => {
    const p = new NgramProposer(2, 2, 3).proposeOne({ requestId: 0, tokens: t, maxTokens: 3 })!;
    expect(p.tokens).toEqual([3, 4, 5]);
    expect(p.parents).toEqual([-1, 0, 1]);
    expect(p.probs).toEqual([0.7, 0.7 ** 2, 0.7 ** 3]);
    expect(p.score).toBeCloseTo(0.7 + 0.49 + 0.343, 12);
    expect(p.free).toBeUndefined();
  });

  it("propose() maps proposeOne over the batch", async () => {
    const ng = new NgramProposer(1, 2, 2);
    const out = await ng.propose([
      { requestId: 1, tokens: t, maxTokens: 5 },
      { requestId: 2, tokens: [1, 2, 3], maxTokens: 5 },
    ]);
    expect(out.map((p) => p?.tokens ?? null)).toEqual([[3, 4], null]);
  });
});

describe("agrees with the brute-force reference", () => {
  it("on 20,000 random small-alphabet contexts", () => {
    const rnd = prng(20240601);
    const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
    let drafted = 0;
    for (let c = 0; c < 20_000; c++) {
      const alphabet = int(1, 4);
      const t = Array.from({ length: int(0, 40) }, () => int(0, alphabet - 1));
      const minN = int(1, 5);
      const maxN = int(minN, 8);
      const k = int(1, 8);
      const want = reference(minN, maxN, k, t);
      if (want) drafted++;
      expect(draft(minN, maxN, k, t), JSON.stringify({ t, minN, maxN, k })).toEqual(want);
    }
    // Both outcomes must be well represented for the agreement to mean something.
    expect(drafted).toBeGreaterThan(5_000);
    expect(drafted).toBeLessThan(15_000);
  });

  it("on long random contexts with repeated blocks", () => {
    const rnd = prng(7);
    const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
    for (let c = 0; c < 40; c++) {
      // Copies of earlier stretches with a few edits: long, non-trivial matches.
      const t: number[] = Array.from({ length: 50 }, () => int(0, 5));
      const T = int(1000, 3000);
      while (t.length < T) {
        const from = int(0, t.length - 1);
        const len = int(1, 80);
        for (let j = 0; j < len && t.length < T; j++) t.push(rnd() < 0.03 ? int(0, 5) : t[from + j] ?? int(0, 5));
      }
      const minN = int(1, 4);
      const maxN = int(minN, 64);
      const k = int(1, 16);
      expect(draft(minN, maxN, k, t), `case ${c}`).toEqual(reference(minN, maxN, k, t));
    }
  });
});

describe("linear search", () => {
  // Counts the token reads the proposer makes: a time-free measure of work.
  function reads(minN: number, maxN: number, k: number, t: number[]): { reads: number; tokens: number[] | null } {
    let n = 0;
    const counted = new Proxy(t, {
      get(target, prop, receiver) {
        if (typeof prop === "string" && /^\d+$/.test(prop)) n++;
        return Reflect.get(target, prop, receiver);
      },
    });
    const p = new NgramProposer(minN, maxN, k).proposeOne({ requestId: 0, tokens: counted, maxTokens: k });
    return { reads: n, tokens: p?.tokens ?? null };
  }

  // Contexts that make a naive scan compare long runs at every start.
  const families: Record<string, (T: number) => number[]> = {
    "all equal": (T) => new Array(T).fill(3),
    "random binary": (T) => {
      const rnd = prng(T);
      return Array.from({ length: T }, () => (rnd() < 0.5 ? 0 : 1));
    },
    "equal then one different": (T) => [...new Array(T - 1).fill(0), 1],
    "period 2 then a break": (T) => [...Array.from({ length: T - 1 }, (_, i) => i % 2), 2],
    "binary Fibonacci word": (T) => {
      let a = [0];
      let b = [0, 1];
      while (b.length < T) [a, b] = [b, [...b, ...a]];
      return b.slice(0, T);
    },
  };

  for (const [name, make] of Object.entries(families)) {
    it(`reads at most 3 per context token (${name}), with maxN as long as the context`, () => {
      for (const T of [500, 2000, 8000]) {
        const t = make(T);
        const k = 8;
        const r = reads(1, T, k, t);
        // The quadratic reference is too slow on the long ones.
        if (T <= 500) expect(r.tokens).toEqual(reference(1, T, k, t));
        expect(r.reads, `T=${T}`).toBeLessThanOrEqual(3 * (T - 1) + k);
      }
    });
  }
});
