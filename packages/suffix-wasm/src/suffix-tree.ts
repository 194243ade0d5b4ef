// A suffix tree handle: many token sequences (by int32 id) indexed up to
// `maxDepth` tokens deep, living in a wasm runtime.

import { SuffixRuntime, defaultRuntime } from "./runtime.js";
import { checkBool, checkFinite, checkInt, checkToken, checkTokens, SuffixInputError } from "./validate.js";
import { INTEGRITY_MESSAGES } from "./integrity-messages.js";

/** A draft: a chain (path mode) or a tree of proposed tokens. */
export interface Draft {
  /** Proposed token ids. */
  tokenIds: Int32Array;
  /** parents[i]: index of token i's parent in `tokenIds`, or -1 for a child of the context. */
  parents: Int32Array;
  /** Estimated probability of each token (float32). */
  probs: Float32Array;
  /** Sum of probs: the expected number of accepted tokens. */
  score: number;
  /** Length of the context suffix that matched. */
  matchLen: number;
}

export interface SpeculateOptions {
  /** Most tokens to propose (default: the tree's max depth). */
  maxSpecTokens?: number;
  /** Draft length cap per matched token: floor(matchLen * factor + offset). Default 1. */
  maxSpecFactor?: number;
  /** Added to the cap above. Default 0. */
  maxSpecOffset?: number;
  /** Stop (path) or prune (tree) below this estimated probability. Default 0.1. */
  minTokenProb?: number;
  /** Propose a tree of alternatives instead of a single path. Default false. */
  useTreeSpec?: boolean;
}

export interface ResolvedSpeculateOptions {
  maxSpecTokens: number;
  maxSpecFactor: number;
  maxSpecOffset: number;
  minTokenProb: number;
  useTreeSpec: boolean;
}

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

  private live(): number {
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

  /**
   * Proposes a continuation of `context` (its last tokens are matched; pass
   * at most `maxDepth` of them, more only costs time).
   */
  speculate(context: ArrayLike<number>, options?: SpeculateOptions): Draft {
    const checked = checkTokens("context", context);
    return this.speculateResolved(checked, resolveSpeculateOptions(options, this.maxDepth));
  }

  /** Same as speculate() for inputs the caller has already validated. */
  speculateResolved(context: ArrayLike<number>, o: ResolvedSpeculateOptions, start = 0): Draft {
    const h = this.live();
    const rt = this.runtime;
    const ex = rt.exports;
    const n = rt.writeTokens(context, start, context.length);
    const size = ex.treeSpeculate(h, n, o.maxSpecTokens, o.maxSpecFactor, o.maxSpecOffset, o.minTokenProb, o.useTreeSpec ? 1 : 0);
    return {
      tokenIds: rt.readInt32(ex.draftTokens(), size),
      parents: rt.readInt32(ex.draftParents(), size),
      probs: rt.readFloat32(ex.draftProbs(), size),
      score: ex.draftScore(),
      matchLen: ex.draftMatchLen(),
    };
  }

  /** Checks every invariant; returns null when sound, else what is broken. */
  checkIntegrity(): string | null {
    const code = this.runtime.exports.treeCheckIntegrity(this.live());
    if (code === 0) return null;
    return INTEGRITY_MESSAGES[code] ?? `unknown integrity failure ${code}`;
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

export { SuffixInputError };
