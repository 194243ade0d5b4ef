// A suffix tree handle: many token sequences (by int32 id) indexed up to
// `maxDepth` tokens deep, living in a wasm runtime.

import { SuffixRuntime, defaultRuntime } from "./runtime.js";
import type { Draft, ResolvedSpeculateOptions, SpeculateOptions } from "./draft.js";
import { checkBool, checkFinite, checkInt, checkToken, checkTokens } from "./validate.js";
import { findIntegrityFailure, formatIntegrityFailure, type IntegrityFailure } from "./integrity.js";

export const MAX_TREE_DEPTH = 1 << 16;

export function resolveSpeculateOptions(opts: SpeculateOptions | undefined, maxDepth: number): ResolvedSpeculateOptions {
  const o = opts ?? {};
  return {
    maxSpecTokens: o.maxSpecTokens === undefined ? maxDepth : checkInt("maxSpecTokens", o.maxSpecTokens, 0, MAX_TREE_DEPTH),
    maxSpecFactor: o.maxSpecFactor === undefined ? 1 : checkFinite("maxSpecFactor", o.maxSpecFactor, 0),
    maxSpecOffset: o.maxSpecOffset === undefined ? 0 : checkFinite("maxSpecOffset", o.maxSpecOffset),
    minTokenProb: o.minTokenProb === undefined ? 0.1 : checkFinite("minTokenProb", o.minTokenProb, 0, 1),
    useTreeSpec: o.useTreeSpec === undefined ? false : checkBool("useTreeSpec", o.useTreeSpec),
  };
}

export const EMPTY_DRAFT: Readonly<Draft> = Object.freeze({
  tokenIds: new Int32Array(0),
  parents: new Int32Array(0),
  probs: new Float32Array(0),
  score: 0,
  matchLen: 0,
});

// Frees wasm memory of trees that were dropped without dispose().
const finalizer = new FinalizationRegistry<{ runtime: SuffixRuntime; handle: number }>(({ runtime, handle }) => {
  runtime.exports.treeFree(handle);
});

export class SuffixTree {
  readonly maxDepth: number;
  readonly runtime: SuffixRuntime;
  private handle: number;

  constructor(maxDepth = 64, runtime: SuffixRuntime = defaultRuntime()) {
    this.maxDepth = checkInt("maxDepth", maxDepth, 1, MAX_TREE_DEPTH);
    this.runtime = runtime;
    this.handle = runtime.exports.treeNew(this.maxDepth);
    finalizer.register(this, { runtime, handle: this.handle }, this);
  }

  /** The wasm handle, for SuffixDecodingCache (throws after dispose). */
  live(): number {
    if (this.handle === 0) throw new Error("SuffixTree: used after dispose()");
    return this.handle;
  }

  /** Appends tokens to sequence `seqId` (created on first use). */
  extend(seqId: number, tokens: ArrayLike<number>, start = 0, end = tokens?.length): void {
    const h = this.live();
    checkInt("seqId", seqId, -2147483648);
    const checked = checkTokens("tokens", tokens);
    if (checked.length === 0) return;
    const n = this.runtime.writeTokens(checked, start, end);
    this.runtime.exports.treeExtend(h, seqId, n);
  }

  append(seqId: number, token: number): void {
    const h = this.live();
    checkInt("seqId", seqId, -2147483648);
    this.runtime.exports.treeAppend(h, seqId, checkToken("token", token));
  }

  /** Removes sequence `seqId`; returns false when the tree does not hold it. */
  remove(seqId: number): boolean {
    checkInt("seqId", seqId, -2147483648);
    return this.runtime.exports.treeRemove(this.live(), seqId) !== 0;
  }

  has(seqId: number): boolean {
    return this.runtime.exports.treeSeqLength(this.live(), seqId) >= 0;
  }

  /** Length of sequence `seqId`, or -1 when absent. */
  sequenceLength(seqId: number): number {
    return this.runtime.exports.treeSeqLength(this.live(), seqId);
  }

  get numSequences(): number {
    return this.runtime.exports.treeNumSeqs(this.live());
  }

  /** Proposes a continuation of `context` (only its last `maxDepth + 1` tokens matter). */
  speculate(context: ArrayLike<number>, options?: SpeculateOptions): Draft {
    const checked = checkTokens("context", context);
    return this.speculateResolved(checked, resolveSpeculateOptions(options, this.maxDepth));
  }

  /** Same as speculate() for inputs the caller has already validated. */
  speculateResolved(context: ArrayLike<number>, o: ResolvedSpeculateOptions): Draft {
    const h = this.live();
    const rt = this.runtime;
    // Match lengths run up to context length - 1 and never exceed maxDepth,
    // so the last maxDepth + 1 tokens decide the draft.
    const n = rt.writeTokens(context, Math.max(0, context.length - this.maxDepth - 1), context.length);
    const size = rt.exports.treeSpeculate(h, n, o.maxSpecTokens, o.maxSpecFactor, o.maxSpecOffset, o.minTokenProb, o.useTreeSpec ? 1 : 0);
    return rt.readDraft(size);
  }

  /** Appends the `n` tokens already in the runtime's I/O buffer. */
  extendFromIo(seqId: number, n: number): void {
    this.runtime.exports.treeExtend(this.live(), seqId, n);
  }

  /** Checks every invariant; returns null when sound, else what is broken and at which node. */
  checkIntegrity(): string | null {
    const failure = this.integrityFailure();
    return failure && formatIntegrityFailure(failure);
  }

  /** The first broken invariant (code, name, message, failing node); null when sound. */
  integrityFailure(): IntegrityFailure | null {
    return findIntegrityFailure(this.runtime, this.live(), this.maxDepth);
  }

  /** Bytes held by this tree's nodes, tables and sequences (walks the tree). */
  memoryBytes(): number {
    return this.runtime.exports.treeMemoryBytes(this.live());
  }

  /** Frees the tree's wasm memory now. The tree cannot be used afterwards. */
  dispose(): void {
    if (this.handle === 0) return;
    finalizer.unregister(this);
    this.runtime.exports.treeFree(this.handle);
    this.handle = 0;
  }
}

export type { Draft, ResolvedSpeculateOptions, SpeculateOptions };
