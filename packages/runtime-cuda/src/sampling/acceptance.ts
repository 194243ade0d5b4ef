// Deciding which draft tokens to keep, without changing what the target
// model would have produced.
//
// Drafts are deterministic here (suffix, n-gram and greedy speculator heads
// all propose fixed tokens), so in rejection sampling the draft distribution
// q is one-hot: candidate c is kept with probability min(1, p(c)/q(c)) =
// p(c), and after a rejection the next token comes from the residual
// max(p - q, 0), i.e. p without c, renormalized; sibling candidates are tried
// in turn against the residual (SpecInfer's multi-candidate rule).
//
// We draw that same process with one uniform number u per output position:
// x = inverse-CDF(p, u); keep the candidate equal to x, if any. P(keep c) =
// p(c), and given a rejection x is distributed as the residual, so this IS
// rejection sampling for one-hot drafts. Because u depends only on the seed
// and the position, a seeded request yields the same tokens with or without
// speculation, whatever the drafts were.

import { sample } from "./distribution.js";

/**
 * Chooses among `candidates` (sibling draft tokens) given the target
 * distribution `p` and the position's uniform number `u`. Returns the index
 * of the kept candidate (-1: none) and the token emitted at this position.
 */
export type AcceptRule = (p: Float64Array, candidates: readonly number[], u: number) => { accepted: number; token: number };

export const rejectionSample: AcceptRule = (p, candidates, u) => {
  const token = sample(p, u);
  return { accepted: candidates.indexOf(token), token };
};
