// Laying out one request's step input: the token the step starts from,
// then its draft, as positions of a chain or a tree.
//
// Input index 0 is the last generated token (not yet in the KV cache);
// index i >= 1 is draft token i - 1, whose parent input is parents[i-1] + 1.

import type { Proposal } from "../proposers/proposer.js";
import type { VerifyCost } from "./verify-cost.js";

export interface StepLayout {
  tokens: number[];
  /** Parent input index of each input (-1 for index 0). */
  parent: number[];
  /** Depth below input 0 (0 for input 0): the position offset. */
  depth: number[];
  /** Children input indices of each input, in draft order. */
  children: number[][];
}

/** Keeps the first chain of a tree draft (for models that can only verify chains). */
export function firstChain(draft: Proposal): Proposal {
  const tokens: number[] = [];
  const kept: number[] = [];
  let parent = -1;
  for (let i = 0; i < draft.tokens.length; i++) {
    if (draft.parents[i] === parent) {
      tokens.push(draft.tokens[i]);
      kept.push(i);
      parent = i;
    }
  }
  const probs = kept.map((i) => draft.probs[i]);
  return { tokens, parents: tokens.map((_, i) => i - 1), probs, score: draft.score };
}

/**
 * Keeps the draft prefix that maximizes expected tokens per unit of verify
 * cost: (1 + sum of kept probs) / cost.at(kept), where the cost is relative
 * to a plain step; an empty draft (value 1) wins when nothing beats plain
 * decoding. Drafts are best-first (probabilities non-increasing, parents
 * first), so any prefix is a valid draft.
 */
export function cutByCost(draft: Proposal, cost: VerifyCost): Proposal {
  let best = 0;
  let bestValue = 1;
  let expected = 1;
  for (let j = 1; j <= draft.tokens.length; j++) {
    expected += draft.probs[j - 1];
    const value = expected / cost.at(j);
    if (value > bestValue) {
      bestValue = value;
      best = j;
    }
  }
  if (best === draft.tokens.length) return draft;
  return {
    tokens: draft.tokens.slice(0, best),
    parents: draft.parents.slice(0, best),
    probs: draft.probs.slice(0, best),
    score: draft.score,
  };
}

/**
 * Cuts a draft before its first token outside the vocabulary [0, vocabSize):
 * a bad id from a suffix tree (a corrupted saved cache, say) must not reach
 * the forward pass, where it would fail every request of the batch. Any
 * prefix of a draft is a valid draft.
 */
export function cutAtInvalid(draft: Proposal, vocabSize: number): Proposal {
  const bad = draft.tokens.findIndex((t) => !Number.isInteger(t) || t < 0 || t >= vocabSize);
  if (bad < 0) return draft;
  return { ...draft, tokens: draft.tokens.slice(0, bad), parents: draft.parents.slice(0, bad), probs: draft.probs.slice(0, bad) };
}

export function layoutStep(lastToken: number, draft: Proposal | null, maxDraft: number): StepLayout {
  const tokens = [lastToken];
  const parent = [-1];
  const depth = [0];
  const children: number[][] = [[]];
  if (draft) {
    const n = Math.min(draft.tokens.length, maxDraft);
    for (let i = 0; i < n; i++) {
      const p = draft.parents[i] + 1;
      // Parents precede children in drafts; anything else is dropped.
      if (p < 0 || p > i) break;
      tokens.push(draft.tokens[i]);
      parent.push(p);
      depth.push(depth[p] + 1);
      children.push([]);
      children[p].push(i + 1);
    }
  }
  return { tokens, parent, depth, children };
}

/** A chain of tokens as a step layout: input j follows input j - 1 (a prompt, or a plain step of one token). */
export function chainLayout(tokens: readonly number[]): StepLayout {
  const n = tokens.length;
  return {
    tokens: [...tokens],
    parent: Array.from({ length: n }, (_, j) => j - 1),
    depth: Array.from({ length: n }, (_, j) => j),
    children: Array.from({ length: n }, (_, j) => (j + 1 < n ? [j + 1] : [])),
  };
}
