// The onnxruntime backend: one session run per pass (model/forward.ts) over
// the rows' step inputs, padded to the widest row (verify/step-inputs.ts), and
// the batch's KV cache in JavaScript buffers (kv/batch-kv-cache.ts), where
// rejected positions stay as masked holes until a regroup squeezes them out.
// Prompts' caches are kept for the next prompt that starts like them
// (kv/prompt-cache.ts).

import { BatchKvCache } from "../kv/batch-kv-cache.js";
import { PromptCache } from "../kv/prompt-cache.js";
import type { ForwardOutput, ForwardPass } from "../model/forward.js";
import { PREFILL_CHUNK, PREFILL_LOGIT_BYTES, PREFILL_TOKENS, planPrefill, prefillChunked, prefillRows, type PrefillRow } from "../model/prefill.js";
import { DenseRowLogits, type RowLogits } from "../sampling/row-logits.js";
import { buildStepInputs, type StepRow } from "../verify/step-inputs.js";
import type { DecoderBackend, PassOutput, PrefilledRow, PrefillRequest } from "./decoder-backend.js";

/** One session run's output, read per row. */
export class OnnxPass implements PassOutput {
  constructor(readonly out: ForwardOutput, readonly width: number, private readonly vocab: number, private readonly hiddenSize: number) {}

  row(i: number): RowLogits {
    return new DenseRowLogits(this.out.logits, i * this.width * this.vocab, this.vocab);
  }

  hidden(i: number, j: number): Float32Array | null {
    const h = this.out.hidden;
    const at = i * this.width + j;
    return h ? h.slice(at * this.hiddenSize, (at + 1) * this.hiddenSize) : null;
  }
}

export interface OnnxModelShape {
  vocabSize: number;
  hiddenSize: number;
  padTokenId: number;
}

export class OnnxBackend implements DecoderBackend<BatchKvCache, OnnxPass> {
  readonly name = "onnxruntime";
  readonly trees: boolean;
  readonly paddedRows = true;
  readonly hiddenState: boolean;
  readonly maxHeldRows: number;
  /** Recent prompts' caches (null: every prompt prefilled from scratch). */
  readonly prompts: PromptCache | null;

  /**
   * `forward` is read at each pass (fault-injection tests wrap its `run`).
   * `promptCacheBytes`: budget of the prompt cache (0: none).
   */
  constructor(readonly forward: ForwardPass, private readonly model: OnnxModelShape, maxBatchSize: number, promptCacheBytes = 0) {
    this.trees = forward.layout.maskRank === 4;
    this.hiddenState = forward.layout.hasHiddenState;
    this.maxHeldRows = maxBatchSize;
    this.prompts = promptCacheBytes > 0 ? new PromptCache(forward.kvShape, promptCacheBytes) : null;
  }

  /** A forward pass alone, as a backend (profiling a graph outside an engine). */
  static of(forward: ForwardPass, vocabSize: number): OnnxBackend {
    return new OnnxBackend(forward, { vocabSize, hiddenSize: 0, padTokenId: 0 }, 1);
  }

  emptyBatch(): BatchKvCache {
    return BatchKvCache.empty(this.forward.kvShape, 0);
  }

  /** Without num_logits_to_keep a pass returns vocab floats per position: fewer positions per pass then. */
  private get prefillBudget(): number {
    return this.forward.canKeepLogits ? PREFILL_TOKENS : Math.min(PREFILL_TOKENS, Math.floor(PREFILL_LOGIT_BYTES / (4 * this.model.vocabSize)));
  }

  prefillGroups(lengths: readonly number[]): number[][] {
    return planPrefill(lengths, this.prefillBudget);
  }

  prefill(prompts: readonly PrefillRequest[]): Promise<PrefilledRow<BatchKvCache>[]> {
    return this.prefillWith(prompts, this.prompts);
  }

  /** Prompts that start like a cached one run alone from its cache; the others together, as planned. */
  private async prefillWith(prompts: readonly PrefillRequest[], cached: PromptCache | null): Promise<PrefilledRow<BatchKvCache>[]> {
    const { padTokenId, hiddenSize, vocabSize } = this.model;
    const chunk = Math.min(PREFILL_CHUNK, this.prefillBudget);
    const hits = prompts.map((p) => cached?.lookup(p.tokens) ?? null);
    const rows: PrefilledRow<BatchKvCache>[] = new Array(prompts.length);
    const take = (i: number, logits: Float32Array, row: PrefillRow) => {
      rows[i] = { state: row.cache, logits: new DenseRowLogits(logits, row.logitsAt, vocabSize), hidden: row.hidden, cachedTokens: hits[i]?.length ?? 0 };
    };
    const fresh = prompts.flatMap((_, i) => (hits[i] ? [] : [i]));
    if (fresh.length > 0) {
      const pass = await prefillRows(this.forward, fresh.map((i) => prompts[i].tokens), padTokenId, hiddenSize, chunk);
      pass.rows.forEach((row, j) => take(fresh[j], pass.logits, row));
    }
    for (const [i, hit] of hits.entries()) {
      if (!hit) continue;
      const pass = await prefillChunked(this.forward, prompts[i].tokens, padTokenId, hiddenSize, chunk, hit);
      take(i, pass.logits, pass.rows[0]);
    }
    if (cached) prompts.forEach((p, i) => cached.put(p.tokens, rows[i].state));
    return rows;
  }

  gather(sources: readonly { state: BatchKvCache; row: number }[]): BatchKvCache {
    return BatchKvCache.gather(this.forward.kvShape, sources.map((s) => ({ cache: s.state, row: s.row })), this.forward.kvRoom);
  }

  detach(state: BatchKvCache, row: number): BatchKvCache {
    return BatchKvCache.gather(this.forward.kvShape, [{ cache: state, row }], 0);
  }

  squeezableRatio(state: BatchKvCache): number {
    return state.squeezableRatio();
  }

  async run(state: BatchKvCache, rows: readonly StepRow[]): Promise<OnnxPass> {
    const inputs = buildStepInputs(rows, state, this.forward.layout.maskRank, this.model.padTokenId);
    const out = await this.forward.run(inputs, state);
    return new OnnxPass(out, inputs.width, this.model.vocabSize, this.model.hiddenSize);
  }

  async advance(state: BatchKvCache, out: OnnxPass, keep: readonly Uint8Array[]): Promise<BatchKvCache> {
    return this.forward.advance(state, out.out, [...keep]);
  }

  /** A pass leaves the cache as it was: its outputs are written only by advance. */
  async discard(): Promise<void> {}

  async replicate(prompt: readonly number[], rows: number): Promise<BatchKvCache> {
    // Profiling prompts neither use nor fill the prompt cache.
    const [one] = await this.prefillWith([{ tokens: prompt, need: "logits" }], null);
    return rows === 1 ? one.state : BatchKvCache.gather(this.forward.kvShape, Array.from({ length: rows }, () => ({ cache: one.state, row: 0 })), 0);
  }

  /** JavaScript buffers: the garbage collector frees them. */
  release(): void {}

  close(): Promise<void> {
    return this.forward.release();
  }
}
