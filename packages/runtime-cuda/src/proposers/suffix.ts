// Suffix decoding: drafts from suffix trees over the request's prompt and
// output and over earlier responses (@glimpse/suffix-wasm).

import { SuffixDecodingCache } from "@glimpse/suffix-wasm";
import type { Proposal, ProposeInput, SuffixDocuments, SuffixState, SyncProposer } from "./proposer.js";

export type { SuffixState } from "./proposer.js";

export interface SuffixProposerOptions {
  maxTreeDepth: number;
  maxCachedRequests: number;
  maxSpecTokens: number;
  maxSpecFactor: number;
  maxSpecOffset: number;
  minTokenProb: number;
  useTreeSpec: boolean;
}

export class SuffixProposer implements SyncProposer, SuffixDocuments {
  readonly method = "suffix";
  readonly needsHidden = false;
  readonly freeDrafts = true;
  readonly treeDrafts: boolean;
  readonly maxTokens: number;
  /** This proposer's global tree takes documents. */
  readonly documents: SuffixDocuments = this;
  readonly cache: SuffixDecodingCache;
  // Token copies of what the global tree holds, for saving it (oldest first).
  private readonly responses = new Map<number | string, number[]>();
  private readonly docTokens = new Map<string, number[]>();
  private restoredIds = 0;

  constructor(private readonly opts: SuffixProposerOptions) {
    this.treeDrafts = opts.useTreeSpec;
    this.maxTokens = opts.maxSpecTokens;
    this.cache = new SuffixDecodingCache({ maxTreeDepth: opts.maxTreeDepth, maxCachedRequests: opts.maxCachedRequests });
  }

  begin(requestId: number, promptIds: readonly number[]): void {
    this.cache.startRequest(requestId, promptIds);
    this.track(requestId);
  }

  private track(id: number | string): void {
    if (!this.cache.isCached(id)) return;
    this.responses.delete(id); // re-inserted at the end: the cache's FIFO order
    this.responses.set(id, []);
    // The cache evicts oldest first, so evicted copies sit at the front of
    // this (insertion-ordered) map: drop them there, O(1) amortized.
    for (const key of this.responses.keys()) {
      if (this.cache.isCached(key)) break;
      this.responses.delete(key);
      if (typeof key === "string" && key.startsWith("doc:")) this.docTokens.delete(key.slice(4));
    }
  }

  async propose(inputs: ProposeInput[]): Promise<(Proposal | null)[]> {
    return inputs.map((input) => this.proposeOne(input));
  }

  proposeOne(input: ProposeInput): Proposal | null {
    const d = this.cache.speculate(input.requestId, input.tokens, {
      maxSpecTokens: Math.min(this.opts.maxSpecTokens, input.maxTokens),
      maxSpecFactor: this.opts.maxSpecFactor,
      maxSpecOffset: this.opts.maxSpecOffset,
      minTokenProb: this.opts.minTokenProb,
      useTreeSpec: this.opts.useTreeSpec,
    });
    if (d.tokenIds.length === 0) return null;
    return { tokens: Array.from(d.tokenIds), parents: Array.from(d.parents), probs: Array.from(d.probs), score: d.score };
  }

  append(requestId: number, tokens: readonly number[]): void {
    if (tokens.length === 0) return;
    this.cache.addActiveResponse(requestId, tokens as number[]);
    this.responses.get(requestId)?.push(...tokens);
  }

  end(requestId: number): void {
    if (this.cache.isActive(requestId)) this.cache.stopRequest(requestId);
  }

  /**
   * Adds tokens the client expects to recur (an open file, say) to the global
   * tree under `name`, replacing a document of the same name. Documents take
   * cache slots like responses and are evicted with them, oldest first.
   */
  addDocument(name: string, tokens: readonly number[]): void {
    this.beginDocument(name);
    this.appendDocument(name, tokens);
    this.endDocument(name, tokens);
  }

  beginDocument(name: string): void {
    const id = `doc:${name}`;
    if (this.cache.isActive(id)) this.cache.stopRequest(id);
    if (this.cache.isCached(id)) this.cache.evictCachedResponse(id);
    this.docTokens.delete(name);
    this.cache.startRequest(id, []);
    this.track(id);
  }

  appendDocument(name: string, tokens: ArrayLike<number>): void {
    if (tokens.length > 0) this.cache.addActiveResponse(`doc:${name}`, tokens);
  }

  endDocument(name: string, tokens: ArrayLike<number>): void {
    const id = `doc:${name}`;
    if (this.cache.isActive(id)) this.cache.stopRequest(id);
    if (!this.cache.isCached(id)) return; // evicted (FIFO) while being added
    this.responses.set(id, Array.from(tokens));
    // Deleted first (by beginDocument) so that insertion order stays age order: the oldest is evicted first.
    this.docTokens.set(name, Array.from(tokens));
  }

  removeDocument(name: string): boolean {
    const id = `doc:${name}`;
    this.docTokens.delete(name);
    this.responses.delete(id);
    if (this.cache.isActive(id)) this.cache.stopRequest(id); // removed while being added in slices
    if (!this.cache.isCached(id)) return false;
    this.cache.evictCachedResponse(id);
    return true;
  }

  listDocuments(): { name: string; tokens: number }[] {
    return [...this.docTokens].filter(([name]) => this.cache.isCached(`doc:${name}`)).map(([name, t]) => ({ name, tokens: t.length }));
  }

  clearDocuments(): void {
    for (const name of [...this.docTokens.keys()]) this.removeDocument(name);
  }

  exportState(): SuffixState {
    const documents = this.listDocuments().map(({ name }) => ({ name, tokens: [...this.docTokens.get(name)!] }));
    const responses = [...this.responses].filter(([id]) => typeof id !== "string" || !id.startsWith("doc:")).map(([, t]) => [...t]);
    return { documents, responses };
  }

  /** Restores a saved state: responses first (oldest first), then documents. */
  importState(state: SuffixState): void {
    for (const tokens of state.responses) {
      const id = `restored:${this.restoredIds++}`;
      this.cache.startRequest(id, []);
      this.track(id);
      this.cache.addActiveResponse(id, tokens);
      this.responses.get(id)?.push(...tokens);
      this.cache.stopRequest(id);
    }
    for (const d of state.documents) this.addDocument(d.name, d.tokens);
  }

  memoryBytes(): number {
    return this.cache.memoryBytes();
  }

  async dispose(): Promise<void> {
    this.cache.dispose();
  }
}
