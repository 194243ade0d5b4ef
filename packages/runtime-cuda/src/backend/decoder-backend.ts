// What the engine needs of "a model that runs forward passes over a batch of
// rows and keeps their KV state". The scheduler, proposers, rejection
// sampler, adaptive policy, grammar masks and outputs sit above this
// interface and are the same on every backend:
//   - onnxruntime (onnx-backend.ts): one session run per pass over padded
//     rows, KV in JavaScript buffers with per-position validity flags;
//   - llama.cpp (llama/llama-backend.ts): one sequence of one context per
//     row, all rows' tokens evaluated together, rejected tokens erased.
//
// KV state is opaque to the engine: a `KvRows` is either the batch (one row
// per active request, in order) or one request's own state outside it (a
// batch of one: after its prompt, while preempted, after stepping alone).

import type { RowLogits } from "../sampling/row-logits.js";
import type { StepRow } from "../verify/step-inputs.js";

export type BackendName = "onnxruntime" | "llama.cpp";
export const BACKENDS: readonly BackendName[] = ["onnxruntime", "llama.cpp"];

/**
 * What a row needs of the target's output at each of its inputs: the most
 * likely token alone (a greedy row without log-probabilities or a
 * constraint: a backend may then skip materialising the distribution), the
 * logits of the k most likely tokens (a row sampling with top-k k: the others
 * never matter), or the full logits. Backends may always give more.
 */
export type LogitsNeed = "argmax" | { top: number } | "logits";

/** KV state of some rows, read only by the backend that made it. */
export interface KvRows {
  readonly rows: number;
}

/** The target's output of one pass. */
export interface PassOutput {
  /** Inputs per row (the widest row's). */
  readonly width: number;
  /** The target's output at row i's inputs. */
  row(i: number): RowLogits;
  /**
   * The last hidden state at row i's input j (backends with `hiddenState`), else null. Its values may be
   * written by `advance` (llama.cpp reads them only then); the engine reads them only at the next draft.
   */
  hidden(i: number, j: number): Float32Array | null;
}

/** A prompt run: the request's own KV state, and the target's output at its last position. */
export interface PrefilledRow<S extends KvRows = KvRows> {
  state: S;
  /** Input 0 is the prompt's last position. */
  logits: RowLogits;
  hidden: Float32Array | null;
  /** Leading prompt tokens whose KV was reused, not computed (a prompt cache hit). */
  cachedTokens?: number;
}

/** Which prompts of a prefill run together, and what each needs. */
export interface PrefillRequest {
  tokens: readonly number[];
  need: LogitsNeed;
}

export interface DecoderBackend<S extends KvRows = KvRows, P extends PassOutput = PassOutput> {
  readonly name: BackendName;
  /** Verifies token trees in one pass; else drafts are reduced to their first chain. */
  readonly trees: boolean;
  /** Every row of a pass is computed at the widest row's input length (dense tensors), so padding costs what drafts cost. */
  readonly paddedRows: boolean;
  /** Outputs the last hidden state (speculators need it). */
  readonly hiddenState: boolean;
  /** Most preempted requests whose KV state may be held aside at once. */
  readonly maxHeldRows: number;

  /** A batch of no rows (the scheduler's start). */
  emptyBatch(): S;
  /** Prompts grouped into prefill calls (indices into `lengths`). */
  prefillGroups(lengths: readonly number[]): number[][];
  /** Runs prompts; each gets its own one-row state. On failure nothing stays held. */
  prefill(prompts: readonly PrefillRequest[]): Promise<PrefilledRow<S>[]>;
  /** A batch holding these rows in this order (regroup; with room for the next steps). */
  gather(sources: readonly { state: S; row: number }[]): S;
  /** One row of a batch as its own state, to outlive the batch (preemption). */
  detach(state: S, row: number): S;
  /** Share of the cached positions a gather would squeeze out (holes left by rejected drafts). */
  squeezableRatio(state: S): number;
  /** One forward pass: row i's inputs are rows[i].layout (its last token, then its draft). */
  run(state: S, rows: readonly StepRow[], needs: readonly LogitsNeed[]): Promise<P>;
  /** The state after a pass, keeping row i's inputs flagged in keep[i] (input 0 and the accepted draft tokens). */
  advance(state: S, out: P, keep: readonly Uint8Array[]): Promise<S>;
  /** Forgets a pass's inputs: the state is as before it (profiling). */
  discard(state: S, out: P): Promise<void>;
  /** `rows` rows each holding `prompt` in their cache (profiling). */
  replicate(prompt: readonly number[], rows: number): Promise<S>;
  /** A request's state is no longer needed (it ended): free what it holds. Idempotent. */
  release(state: S, row: number): void;
  close(): Promise<void>;
}
