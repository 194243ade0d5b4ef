// The target's last hidden state on llama.cpp, for the speculators that draft
// from it (Arctic MLP/LSTM, the hybrid). node-llama-cpp gives no per-position
// hidden states: a context created with `_embeddings` makes llama.cpp compute
// the final hidden state (after the last RMSNorm, as the ONNX graphs'
// last_hidden_state) of every token, but reads back only the last token's of
// the latest evaluation. So a row's hidden state at its last accepted input
// is read by evaluating that token again, alone, in a scratch sequence that
// shares the row's KV cells before it (llama.cpp copies a sequence by tagging
// its cells, no compute). The row's own cells are never rewritten: its KV
// stays exactly what the verification computed, as with the other proposers
// (llama.cpp's CPU kernels round differently for different batch shapes, so
// recomputing a cell could flip a near-tie in a later argmax).

import { ModelLoadError } from "../../errors.js";
import type { LlamaContext, LlamaContextSequence } from "./node-llama.js";

type NativeContext = { getEmbedding(inputTokensLength: number, maxVectorSize?: number): Float64Array };

export class LlamaHiddenReader {
  private constructor(
    private readonly native: NativeContext,
    private readonly scratch: LlamaContextSequence,
    readonly size: number,
  ) {}

  /**
   * For a context created with `_embeddings: true` and one sequence more than
   * its rows use (the scratch); an error when this node-llama-cpp has no way to read it.
   */
  static of(context: LlamaContext, size: number): LlamaHiddenReader {
    const native = context._ctx;
    const scratch = context.getSequence();
    if (typeof native?.getEmbedding !== "function" || typeof scratch._copyStateFromOtherSequence !== "function") {
      throw new ModelLoadError("this node-llama-cpp version gives no hidden states (Glimpse reads them as 3.22.1 exposes them): "
        + "reinstall it with `npm run setup:llama`, or use a proposer that needs none (suffix, ngram)");
    }
    return new LlamaHiddenReader(native as NativeContext, scratch, size);
  }

  /** The hidden state of the last token of the latest evaluation (read before any other evaluation runs). */
  latest(): Float32Array {
    const h = this.native.getEmbedding(1, this.size);
    if (h.length !== this.size) throw new Error(`llama.cpp gave a hidden state of ${h.length} values, the model has ${this.size}`);
    return Float32Array.from(h);
  }

  /** The hidden state at the sequence's last token (`token`), evaluated again alone after the cells before it. */
  async atLast(seq: LlamaContextSequence, token: number, into: Float32Array): Promise<void> {
    const before = seq.nextTokenIndex - 1;
    if (!(await this.scratch._copyStateFromOtherSequence!(seq, before))) throw new Error("llama.cpp could not copy a sequence's KV cells");
    try {
      await this.scratch.controlledEvaluate([token]);
      into.set(this.latest());
    } finally {
      await this.scratch.clearHistory();
    }
  }
}
