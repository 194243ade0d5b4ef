// Prompt lookup (n-gram) drafts, as vLLM's `ngram` method: the baseline
// suffix decoding beats. Same choice of match as vLLM's
// `_find_longest_matched_ngram_and_propose_tokens`
// (vllm/v1/spec_decode/ngram_proposer.py, vllm-project/vllm), and the same
// linear-time search (Knuth-Morris-Pratt).
//
// The rule, for context t[0..T) and k = min(maxTokens, input.maxTokens):
//  1. n is the LONGEST length <= maxN whose last n tokens t[T-n..T) also
//     occur at an earlier start s (s <= T-1-n: the occurrence may overlap the
//     suffix but is not the suffix itself). If that n is below minN there is
//     no draft (shorter n-grams are never tried once a longer one matched).
//  2. Among the occurrences of that n-gram, the EARLIEST one (smallest s)
//     wins, not the most recent.
//  3. The draft is the tokens after it, t[s+n .. min(s+n+k, T)): fewer than k
//     when the context ends first (never empty, since s+n <= T-1); a match
//     running up to the end of the context is not extended past it.
// (vLLM also caps k by max_model_len - T; here the engine owns that limit.)
//
// vLLM's docstring example (NgramProposer.propose): "If context_token_ids =
// [1,2,3,4,2,3], min_n = 2, max_n = 3, and k = 4: The last 3 (= max_n)
// tokens [4,2,3] cannot find a match. The last 2 tokens [2,3] will be matched
// against the previous 4 tokens [1,2,3,4]. Finding a match of [2,3] would
// return the tokens that followed that pattern. Here we will return [4,2,3]
// because we only have three tokens after the match."
//
// Search: read the context backwards, R[j] = t[T-1-j]. An occurrence of the
// last v tokens starting at s is the pattern R[0..v) ending at R index
// T-1-s. One KMP pass of R against its own first m = min(maxN, T-1) tokens
// gives, at each R index i, the longest such v <= m; the largest v, at its
// last i (= earliest s), is the match: at most 2T token compares per step.

import { chainProposal, type Proposal, type ProposeInput, type SyncProposer } from "./proposer.js";

export class NgramProposer implements SyncProposer {
  readonly method = "ngram";
  readonly treeDrafts = false;
  readonly needsHidden = false;
  readonly freeDrafts = true;

  constructor(private readonly minN: number, private readonly maxN: number, readonly maxTokens: number) {}

  begin(): void {}
  append(): void {}
  end(): void {}
  async dispose(): Promise<void> {}

  async propose(inputs: ProposeInput[]): Promise<(Proposal | null)[]> {
    return inputs.map((i) => this.proposeOne(i));
  }

  proposeOne(input: ProposeInput): Proposal | null {
    const { tokens } = input;
    const k = Math.min(this.maxTokens, input.maxTokens);
    const T = tokens.length;
    // The pattern never needs to be longer than the earlier context.
    const m = Math.min(this.maxN, T - 1);
    if (k <= 0 || m < Math.max(this.minN, 1)) return null;
    const last = T - 1;
    // border[j]: longest proper prefix of R[0..j] that is also its suffix.
    const border = new Int32Array(m);
    let v = 0; // pattern tokens matched ending at R index i
    let best = 0;
    let bestAt = 0;
    for (let i = 1; i < T; i++) {
      const c = tokens[last - i];
      // After a full match fall back first: n is capped at maxN.
      if (v === m) v = border[m - 1];
      // Longest border that c extends: every failed compare shortens v, so
      // compares are at most 2T in all.
      for (;;) {
        if (tokens[last - v] === c) {
          v++;
          break;
        }
        if (v === 0) break;
        v = border[v - 1];
      }
      if (i < m) border[i] = v;
      // ">=": a later R index is an earlier start s, which vLLM prefers.
      if (v > 0 && v >= best) {
        best = v;
        bestAt = i;
      }
    }
    if (best < this.minN) return null;
    const from = last - bestAt + best;
    const draft = tokens.slice(from, Math.min(from + k, T));
    // No statistics behind an n-gram match: assume each token holds with 0.7.
    return chainProposal(draft, draft.map((_, i) => 0.7 ** (i + 1)));
  }
}
