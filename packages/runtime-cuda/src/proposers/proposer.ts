// The interface every draft proposer implements.

/** A draft: token i follows token parents[i], or the last context token when parents[i] is -1. */
export interface Draft {
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

export interface Proposer {
  /** Config method name, e.g. "suffix". */
  readonly method: string;
  /** Whether drafts may branch (need a 4-D mask model to verify in one pass). */
  readonly treeDrafts: boolean;
  /** Needs the target's last hidden state. */
  readonly needsHidden: boolean;
  /**
   * Has a free side that keeps drafting, at full length, while the adaptive
   * logic pauses or shrinks the costly side (the hybrid's suffix tree).
   */
  readonly draftsWhilePaused?: boolean;
  begin(requestId: number, promptIds: readonly number[]): void;
  propose(inputs: ProposeInput[]): Promise<(Draft | null)[]>;
  /** Tokens that became part of the request's output (accepted drafts and the target's own). */
  append(requestId: number, tokens: readonly number[]): void;
  end(requestId: number): void;
  dispose(): Promise<void>;
}
