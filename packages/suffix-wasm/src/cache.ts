// SuffixDecodingCache: the per-request and global suffix trees used for
// speculation, with the semantics of ArcticInference's SuffixDecodingCache.
//
// - Each active request has its own tree over its prompt and response so far.
// - One global tree holds responses of earlier (and current) requests, FIFO
//   evicted beyond `maxCachedRequests` (-1: unlimited, 0: no global tree).
// - A draft comes from whichever tree scores higher; the request's own tree
//   wins ties.

import { SuffixRuntime, defaultRuntime } from "./runtime.js";
import { SuffixTree, resolveSpeculateOptions, MAX_TREE_DEPTH } from "./suffix-tree.js";
import type { Draft, SpeculateOptions } from "./draft.js";
import { checkInt, checkRequestId, checkTokens, RequestId, SuffixInputError } from "./validate.js";

export interface SuffixDecodingCacheOptions {
  /** Deepest suffix indexed, and the most context tokens matched. Default 64. */
  maxTreeDepth?: number;
  /** Responses kept in the global tree (-1 unlimited, 0 disables it). Default -1. */
  maxCachedRequests?: number;
  /** The wasm runtime to use; by default one shared per process. */
  runtime?: SuffixRuntime;
}

// The request's own tree holds prompt + response as this one sequence.
const LOCAL_SEQ = 0;

export class SuffixDecodingCache {
  readonly maxTreeDepth: number;
  readonly maxCachedRequests: number;
  private readonly runtime: SuffixRuntime;
  private readonly globalTree: SuffixTree;
  private readonly localTrees = new Map<RequestId, SuffixTree>();
  // Insertion order is FIFO order for eviction.
  private readonly reqToSeq = new Map<RequestId, number>();
  private readonly seqToReq = new Map<number, RequestId>();
  private nextSeqId = 0;

  constructor(options: SuffixDecodingCacheOptions = {}) {
    this.maxTreeDepth = checkInt("maxTreeDepth", options.maxTreeDepth ?? 64, 1, MAX_TREE_DEPTH);
    this.maxCachedRequests = checkInt("maxCachedRequests", options.maxCachedRequests ?? -1, -1);
    this.runtime = options.runtime ?? defaultRuntime();
    this.globalTree = new SuffixTree(this.maxTreeDepth, this.runtime);
  }

  /** Ids of requests started and not yet stopped. */
  get activeRequests(): RequestId[] {
    return [...this.localTrees.keys()];
  }

  /** Ids of requests whose responses are in the global tree, oldest first. */
  get cachedRequests(): RequestId[] {
    return [...this.reqToSeq.keys()];
  }

  isActive(reqId: RequestId): boolean {
    return this.localTrees.has(reqId);
  }

  isCached(reqId: RequestId): boolean {
    return this.reqToSeq.has(reqId);
  }

  /**
   * Starts a request: indexes its prompt and, when the global tree is on,
   * opens a slot for its response (evicting the oldest beyond the limit).
   */
  startRequest(reqId: RequestId, promptIds: ArrayLike<number>): void {
    checkRequestId("reqId", reqId);
    const prompt = checkTokens("promptIds", promptIds);
    if (this.localTrees.has(reqId)) {
      throw new SuffixInputError("reqId", `request ${JSON.stringify(reqId)} is already active`);
    }
    const tree = new SuffixTree(this.maxTreeDepth, this.runtime);
    tree.extend(LOCAL_SEQ, prompt);
    this.localTrees.set(reqId, tree);
    if (this.maxCachedRequests !== 0) {
      if (this.reqToSeq.has(reqId)) this.evictCachedResponse(reqId);
      this.allocateSeqId(reqId);
    }
  }

  /** Stops a request, freeing its own tree; its response stays cached. */
  stopRequest(reqId: RequestId): void {
    const tree = this.local("reqId", reqId);
    tree.dispose();
    this.localTrees.delete(reqId);
    // The cached response never grows again (a restarted request gets a new
    // sequence): drop what only growing it needs.
    const seqId = this.reqToSeq.get(reqId);
    if (seqId !== undefined) this.runtime.exports.treeFinish(this.globalTree.live(), seqId);
  }

  /** Appends generated tokens to the request's tree and its cached response. */
  addActiveResponse(reqId: RequestId, tokenIds: ArrayLike<number> | number): void {
    const tree = this.local("reqId", reqId);
    const tokens = typeof tokenIds === "number" ? [tokenIds] : tokenIds;
    const checked = checkTokens("tokenIds", tokens);
    if (checked.length === 0) return;
    // Written into wasm memory once, appended to both trees in one call.
    const n = this.runtime.writeTokens(checked);
    const seqId = this.reqToSeq.get(reqId);
    this.runtime.exports.cacheExtend(
      tree.live(), LOCAL_SEQ, seqId === undefined ? 0 : this.globalTree.live(), seqId ?? 0, n);
  }

  /** Removes a response from the global tree. */
  evictCachedResponse(reqId: RequestId): void {
    const seqId = this.reqToSeq.get(reqId);
    if (seqId === undefined) {
      throw new SuffixInputError("reqId", `request ${JSON.stringify(reqId)} is not cached`);
    }
    this.reqToSeq.delete(reqId);
    this.seqToReq.delete(seqId);
    this.globalTree.remove(seqId);
  }

  /**
   * Drafts a continuation of `context` (prompt + response so far) for an
   * active request, from its own tree and the global tree. Only the last
   * `maxTreeDepth` tokens of the context are used.
   */
  speculate(reqId: RequestId, context: ArrayLike<number>, options?: SpeculateOptions): Draft {
    const tree = this.local("reqId", reqId);
    const ctx = checkTokens("context", context);
    const o = resolveSpeculateOptions(options, this.maxTreeDepth);
    const rt = this.runtime;
    const n = rt.writeTokens(ctx, Math.max(0, ctx.length - this.maxTreeDepth), ctx.length);
    const seqId = this.reqToSeq.get(reqId);
    const size = rt.exports.cacheSpeculateSeqs(
      tree.live(), LOCAL_SEQ, this.maxCachedRequests === 0 ? 0 : this.globalTree.live(), seqId ?? -1, n,
      o.maxSpecTokens, o.maxSpecFactor, o.maxSpecOffset, o.minTokenProb, o.useTreeSpec ? 1 : 0,
    );
    return rt.readDraft(size);
  }

  /** Bytes held by all trees (walks them: for reports, not hot paths). */
  memoryBytes(): number {
    let total = this.globalTree.memoryBytes();
    for (const t of this.localTrees.values()) total += t.memoryBytes();
    return total;
  }

  /** Integrity of every tree: null when sound, else the first problem found. */
  checkIntegrity(): string | null {
    const g = this.globalTree.checkIntegrity();
    if (g) return `global tree: ${g}`;
    for (const [id, t] of this.localTrees) {
      const l = t.checkIntegrity();
      if (l) return `request ${JSON.stringify(id)}: ${l}`;
    }
    return null;
  }

  /** Frees all wasm memory held by this cache. */
  dispose(): void {
    for (const t of this.localTrees.values()) t.dispose();
    this.localTrees.clear();
    this.reqToSeq.clear();
    this.seqToReq.clear();
    this.globalTree.dispose();
  }

  private local(field: string, reqId: RequestId): SuffixTree {
    const tree = this.localTrees.get(reqId);
    if (!tree) throw new SuffixInputError(field, `request ${JSON.stringify(reqId)} is not active`);
    return tree;
  }

  private allocateSeqId(reqId: RequestId): number {
    // Next non-negative int32 not held by an active request.
    let seqId: number;
    for (;;) {
      seqId = this.nextSeqId;
      this.nextSeqId = (this.nextSeqId + 1) & 0x7fffffff;
      const owner = this.seqToReq.get(seqId);
      if (owner === undefined || !this.localTrees.has(owner)) break;
    }
    const owner = this.seqToReq.get(seqId);
    if (owner !== undefined) {
      // Wrapped around onto a finished request's id: evict it.
      this.evictCachedResponse(owner);
    }
    this.reqToSeq.set(reqId, seqId);
    this.seqToReq.set(seqId, reqId);
    this.evictBeyondLimit(seqId);
    return seqId;
  }

  private evictBeyondLimit(newSeqId: number): void {
    if (this.maxCachedRequests < 0) return;
    while (this.reqToSeq.size > this.maxCachedRequests) {
      for (const [reqId, seqId] of this.reqToSeq) {
        if (seqId !== newSeqId) {
          this.evictCachedResponse(reqId);
          break;
        }
      }
    }
  }
}
