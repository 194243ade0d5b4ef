// Hybrid (ArcticInference's `arctic` with `enable_suffix_decoding`): use the
// suffix draft when its score (expected accepted tokens) is at least the
// speculator's n_predict, else the speculator's draft. The suffix side costs
// microseconds, so it drafts at its full length (the speculator caps its own
// drafts at num_speculative_tokens) and goes on while the engine pauses the
// speculator for a request.

import type { ArcticProposer } from "./arctic.js";
import type { Proposal, ProposeInput, Proposer, SuffixDocuments } from "./proposer.js";
import type { SuffixProposer } from "./suffix.js";

export class HybridProposer implements Proposer {
  readonly method = "arctic+suffix";
  readonly needsHidden = true;
  readonly draftsWhilePaused = true;
  readonly treeDrafts: boolean;
  /** The speculator's cap: the suffix side drafts at its own full length when its draft is free. */
  readonly maxTokens: number;
  readonly documents: SuffixDocuments;
  /** How many drafts came from each side, for metrics. */
  readonly chosen = { suffix: 0, arctic: 0 };

  constructor(readonly suffix: SuffixProposer, readonly arctic: ArcticProposer) {
    this.treeDrafts = suffix.treeDrafts;
    this.maxTokens = arctic.maxTokens;
    this.documents = suffix;
  }

  begin(requestId: number, promptIds: readonly number[]): void {
    this.suffix.begin(requestId, promptIds);
  }

  async propose(inputs: ProposeInput[]): Promise<(Proposal | null)[]> {
    const threshold = this.arctic.info.nPredict;
    const fromSuffix = inputs.map((i) => this.suffix.proposeOne(i));
    const needModel = inputs.filter((input, k) => !input.paused && (!fromSuffix[k] || fromSuffix[k]!.score < threshold));
    const fromModel = needModel.length > 0 ? await this.arctic.propose(needModel) : [];
    const modelDraft = new Map(needModel.map((input, k) => [input, fromModel[k]]));
    return inputs.map((input, k) => {
      const s = fromSuffix[k];
      if (s && (s.score >= threshold || input.paused)) {
        this.chosen.suffix++;
        return { ...s, free: true };
      }
      const m = modelDraft.get(input) ?? null;
      if (m) this.chosen.arctic++;
      return m ?? s;
    });
  }

  append(requestId: number, tokens: readonly number[]): void {
    this.suffix.append(requestId, tokens);
  }

  end(requestId: number): void {
    this.suffix.end(requestId);
  }

  async dispose(): Promise<void> {
    await Promise.all([this.suffix.dispose(), this.arctic.dispose()]);
  }
}
