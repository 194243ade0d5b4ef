// The interface every draft proposer implements.

/**
 * A proposer's draft for one request (named apart from the suffix package's
 * `Draft`): token i follows token parents[i], or the last context token when
 * parents[i] is -1. Chains have parents [-1, 0, 1, ...].
 */
export interface Proposal {
  tokens: number[];
  parents: number[];
  /**
   * Estimated probability that token i and all its ancestors are accepted,
   * non-increasing along the list; the engine uses it to cut drafts whose
   * tail costs more to verify than it is expected to yield.
   */
  probs: number[];
  /** Proposer's own confidence (the suffix tree's expected accepted tokens). */
  score: number;
  /**
   * Drafted by a side that costs next to nothing (the hybrid's suffix tree,
   * when its draft was taken without running the model speculator): the
   * engine's pause and budget logic, which guards the costly side, ignores it.
   */
  free?: boolean;
}

/** What a proposer sees of a request at each step. */
export interface ProposeInput {
  requestId: number;
  /** Prompt and generated tokens, the last being the token the next step starts from. */
  tokens: readonly number[];
  /** Target's last hidden state at the position that produced the last token (when the model has one). */
  hidden?: Float32Array;
  /** Most draft tokens wanted now (adaptive budget, at least 1). */
  maxTokens: number;
  /** The request's costly drafting is paused: propose only from free sources (see Proposer.draftsWhilePaused). */
  paused?: boolean;
}

/** What the global suffix tree holds, in a form that can be saved and restored. */
export interface SuffixState {
  documents: { name: string; tokens: number[] }[];
  responses: number[][];
}

/**
 * Optional capability of proposers backed by a global suffix tree: named
 * documents the client expects to recur, and the tree's saved state.
 */
export interface SuffixDocuments {
  addDocument(name: string, tokens: readonly number[]): void;
  /**
   * A document added in slices (a long one is inserted between decoding
   * steps): begin, append each slice, end. It is listed and saved only once ended.
   */
  beginDocument(name: string): void;
  appendDocument(name: string, tokens: ArrayLike<number>): void;
  endDocument(name: string, tokens: ArrayLike<number>): void;
  removeDocument(name: string): boolean;
  listDocuments(): { name: string; tokens: number }[];
  clearDocuments(): void;
  exportState(): SuffixState;
  importState(state: SuffixState): void;
  /** Bytes held by the suffix trees (global cache and active requests). */
  memoryBytes(): number;
}

export interface Proposer {
  /** Config method name, e.g. "suffix". */
  readonly method: string;
  /** Whether drafts may branch: the engine reduces them to their first chain on models that verify chains only. */
  readonly treeDrafts: boolean;
  /** Needs the target's last hidden state: the engine refuses models without one at load. */
  readonly needsHidden: boolean;
  /** Most tokens one draft can hold (the resolved num_speculative_tokens). */
  readonly maxTokens: number;
  /**
   * Has a free side that keeps drafting, at full length, while the adaptive
   * logic pauses or shrinks the costly side (the hybrid's suffix tree).
   */
  readonly draftsWhilePaused?: boolean;
  /**
   * Every draft costs next to nothing (a suffix-tree or n-gram lookup): the
   * engine also asks it for rows whose drafting is paused, to fill the
   * padding a batched pass computes anyway (verify/step-drafts.ts).
   */
  readonly freeDrafts?: boolean;
  /** Present when the proposer keeps a global suffix tree that takes documents. */
  readonly documents?: SuffixDocuments;
  begin(requestId: number, promptIds: readonly number[]): void;
  propose(inputs: ProposeInput[]): Promise<(Proposal | null)[]>;
  /** Tokens that became part of the request's output (accepted drafts and the target's own). */
  append(requestId: number, tokens: readonly number[]): void;
  end(requestId: number): void;
  dispose(): Promise<void>;
}

/** A proposer that drafts synchronously, one request at a time (suffix, n-gram). */
export interface SyncProposer extends Proposer {
  proposeOne(input: ProposeInput): Proposal | null;
}

/** Builds a chain proposal from tokens and their cumulative acceptance estimates. */
export function chainProposal(tokens: number[], probs: number[]): Proposal {
  return { tokens, parents: tokens.map((_, i) => i - 1), probs, score: probs.reduce((a, b) => a + b, 0) };
}
