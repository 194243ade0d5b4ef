// Suffix decoding: drafts from suffix trees over the request's prompt and
// output and over earlier responses (@glimpse/suffix-wasm).

import { SuffixDecodingCache } from "@glimpse/suffix-wasm";
import type { Draft, ProposeInput, Proposer } from "./proposer.js";

export interface SuffixProposerOptions {
  maxTreeDepth: number;
  maxCachedRequests: number;
  maxSpecTokens: number;
  maxSpecFactor: number;
  maxSpecOffset: number;
  minTokenProb: number;
  useTreeSpec: boolean;
}

export class SuffixProposer implements Proposer {
  readonly method = "suffix";
  readonly needsHidden = false;
  readonly treeDrafts: boolean;
  readonly cache: SuffixDecodingCache;

  constructor(private readonly opts: SuffixProposerOptions) {
    this.treeDrafts = opts.useTreeSpec;
    this.cache = new SuffixDecodingCache({ maxTreeDepth: opts.maxTreeDepth, maxCachedRequests: opts.maxCachedRequests });
  }

  begin(requestId: number, promptIds: readonly number[]): void {
    this.cache.startRequest(requestId, promptIds);
  }

  async propose(inputs: ProposeInput[]): Promise<(Draft | null)[]> {
    return inputs.map((input) => this.proposeOne(input));
  }

  proposeOne(input: ProposeInput): Draft | null {
    const d = this.cache.speculate(input.requestId, input.tokens, {
      maxSpecTokens: Math.min(this.opts.maxSpecTokens, input.maxTokens),
      maxSpecFactor: this.opts.maxSpecFactor,
      maxSpecOffset: this.opts.maxSpecOffset,
      minTokenProb: this.opts.minTokenProb,
      useTreeSpec: this.opts.useTreeSpec,
    });
    if (d.tokenIds.length === 0) return null;
    return { tokens: Array.from(d.tokenIds), parents: Array.from(d.parents), score: d.score };
  }

  append(requestId: number, tokens: readonly number[]): void {
    if (tokens.length > 0) this.cache.addActiveResponse(requestId, tokens as number[]);
  }

  end(requestId: number): void {
    if (this.cache.isActive(requestId)) this.cache.stopRequest(requestId);
  }

  /** Adds text the client expects to recur (e.g. open files) to the global tree. */
  addDocument(documentId: number, tokens: readonly number[]): void {
    this.cache.startRequest(documentId, []);
    this.cache.addActiveResponse(documentId, tokens as number[]);
    this.cache.stopRequest(documentId);
  }

  async dispose(): Promise<void> {
    this.cache.dispose();
  }
}
