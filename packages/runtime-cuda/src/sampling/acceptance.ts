// Deciding which draft tokens to keep, without changing what the target
// model would have produced.
//
// Drafts here are deterministic (suffix, n-gram, and greedy speculator
// heads all propose fixed tokens), so in rejection sampling the draft
// distribution q is one-hot: a candidate c is kept with probability p(c);
// after a rejection the target distribution becomes p with c removed and
// renormalized, and the next sibling candidate is tried against it. When no
// candidate survives, the bonus token is sampled from what remains. The
// result is distributed exactly as sampling from p (SpecInfer's multi-
// candidate rule with deterministic proposals).

import { Rng } from "./rng.js";
import { sample } from "./distribution.js";

/** Chooses among `candidates` (sibling draft tokens) given the target distribution `p`. */
export type AcceptRule = (p: Float64Array, candidates: readonly number[], rng: Rng) => { accepted: number; token: number };

/**
 * Rejection sampling. Returns the index of the accepted candidate and its
 * token, or accepted -1 with a token sampled from the residual distribution.
 */
export const rejectionSample: AcceptRule = (p, candidates, rng) => {
  let residual = p;
  let copied = false;
  for (let i = 0; i < candidates.length; i++) {
    const c = candidates[i];
    const pc = residual[c] ?? 0;
    if (pc > 0 && rng.next() < pc) return { accepted: i, token: c };
    if (pc > 0) {
      if (!copied) {
        residual = Float64Array.from(residual);
        copied = true;
      }
      // max(p - onehot(c), 0), renormalized: c is gone.
      residual[c] = 0;
      const rest = 1 - pc;
      for (let k = 0; k < residual.length; k++) residual[k] /= rest;
    }
  }
  return { accepted: -1, token: sample(residual, rng.next()) };
};
