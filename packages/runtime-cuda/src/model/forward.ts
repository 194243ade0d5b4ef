// One forward pass of the decoder graph: step inputs and the batch's KV
// cache in, logits, the last hidden state and the KV outputs out, with the
// tensor names the graph's layout detected.

import * as ort from "onnxruntime-node";
import type { BatchKvCache, KvShape } from "../kv/batch-kv-cache.js";
import type { StepInputs } from "../verify/step-inputs.js";
import type { DecoderLayout } from "./layout.js";

export interface ForwardOutput {
  /** [rows, width, vocab] */
  logits: Float32Array;
  /** [rows, width, hidden], when the graph outputs it. */
  hidden: Float32Array | null;
  keys: Float32Array[];
  values: Float32Array[];
}

/**
 * Free positions left at the end of the cache for graphs that output only
 * the new positions' K/V: the graph attends over them (masked), so more room
 * costs a little on every step; less means regrowing (one copy) more often.
 */
const KV_ROOM = 32;

export class ForwardPass {
  constructor(private readonly session: ort.InferenceSession, readonly layout: DecoderLayout) {}

  get kvShape(): KvShape {
    return { numLayers: this.layout.numLayers, numKvHeads: this.layout.numKvHeads, headDim: this.layout.headDim };
  }

  /** Free room kept at the end of the batch cache (only graphs that output new positions alone can use it). */
  get kvRoom(): number {
    return this.layout.kvOutputs === "append" ? KV_ROOM : 0;
  }

  async run(inputs: StepInputs, cache: BatchKvCache): Promise<ForwardOutput> {
    const out = await this.session.run(this.feeds(inputs, cache));
    const L = this.layout;
    return {
      logits: out.logits.data as Float32Array,
      hidden: L.hasHiddenState ? (out.last_hidden_state.data as Float32Array) : null,
      keys: L.presentKeyNames.map((n) => out[n].data as Float32Array),
      values: L.presentValueNames.map((n) => out[n].data as Float32Array),
    };
  }

  /** The cache after this pass, keeping the new positions flagged in `keep` (one array per row). */
  advance(cache: BatchKvCache, out: ForwardOutput, keep: Uint8Array[], room = this.kvRoom): BatchKvCache {
    return cache.advance(this.layout.kvOutputs, out.keys, out.values, keep, room);
  }

  release(): Promise<void> {
    return this.session.release();
  }

  private feeds(inputs: StepInputs, cache: BatchKvCache): Record<string, ort.Tensor> {
    const L = this.layout;
    const { rows, width: s } = inputs;
    const total = cache.width + s;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor("int64", inputs.ids, [rows, s]),
      attention_mask: L.maskRank === 2
        ? new ort.Tensor("int64", inputs.mask as BigInt64Array, [rows, total])
        : new ort.Tensor("float32", inputs.mask as Float32Array, [rows, 1, s, total]),
    };
    if (L.hasPositionIds) feeds.position_ids = new ort.Tensor("int64", inputs.positions, [rows, s]);
    const dims = [rows, L.numKvHeads, cache.width, L.headDim];
    for (let l = 0; l < L.numLayers; l++) {
      feeds[L.pastKeyNames[l]] = new ort.Tensor("float32", cache.keys[l], dims);
      feeds[L.pastValueNames[l]] = new ort.Tensor("float32", cache.values[l], dims);
    }
    return feeds;
  }
}
