// Laying out one request's step input: the token the step starts from,
// then its draft, as positions of a chain or a tree.
//
// Input index 0 is the last generated token (not yet in the KV cache);
// index i >= 1 is draft token i - 1, whose parent input is parents[i-1] + 1.

import type { Draft } from "../proposers/proposer.js";

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
export function firstChain(draft: Draft): Draft {
  const tokens: number[] = [];
  let parent = -1;
  for (let i = 0; i < draft.tokens.length; i++) {
    if (draft.parents[i] === parent) {
      tokens.push(draft.tokens[i]);
      parent = i;
    }
  }
  return { tokens, parents: tokens.map((_, i) => i - 1), score: draft.score };
}

export function layoutStep(lastToken: number, draft: Draft | null, maxDraft: number): StepLayout {
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
