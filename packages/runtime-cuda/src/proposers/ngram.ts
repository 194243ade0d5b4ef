// Prompt lookup (n-gram) drafts, as vLLM's `ngram` method: find an earlier
// occurrence of the context's last n tokens (n from max down to min) and
// propose the tokens that followed it. The baseline suffix decoding beats.
//
// Example: context [1,2,3,4,2,3], min 2, max 3, k 4: the last 3 tokens
// [4,2,3] never occurred before; [2,3] did, at index 1, followed by [4,2,3]:
// the draft is [4,2,3].

import type { Draft, ProposeInput, Proposer } from "./proposer.js";

export class NgramProposer implements Proposer {
  readonly method = "ngram";
  readonly treeDrafts = false;
  readonly needsHidden = false;

  constructor(private readonly minN: number, private readonly maxN: number, private readonly k: number) {}

  begin(): void {}
  append(): void {}
  end(): void {}
  async dispose(): Promise<void> {}

  async propose(inputs: ProposeInput[]): Promise<(Draft | null)[]> {
    return inputs.map((i) => this.proposeOne(i.tokens, Math.min(this.k, i.maxTokens)));
  }

  proposeOne(tokens: readonly number[], k: number): Draft | null {
    const len = tokens.length;
    for (let n = Math.min(this.maxN, len - 1); n >= this.minN; n--) {
      // Most recent earlier occurrence of the last n tokens.
      for (let start = len - n - 1; start >= 0; start--) {
        let match = true;
        for (let j = 0; j < n; j++) {
          if (tokens[start + j] !== tokens[len - n + j]) {
            match = false;
            break;
          }
        }
        if (!match) continue;
        const from = start + n;
        const draft = tokens.slice(from, Math.min(from + k, len));
        if (draft.length === 0) continue;
        // No statistics behind an n-gram match: assume each token holds with 0.7.
        const probs = draft.map((_, i) => 0.7 ** (i + 1));
        return { tokens: draft, parents: draft.map((_, i) => i - 1), probs, score: probs.reduce((a, b) => a + b, 0) };
      }
    }
    return null;
  }
}
