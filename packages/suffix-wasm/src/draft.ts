// Drafts and the options that shape them.

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
