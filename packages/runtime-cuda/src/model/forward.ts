// One forward pass of the decoder graph: step inputs and the batch's KV
// cache in, logits, the last hidden state and the KV outputs out, with the
// tensor names the graph's layout detected.

import * as ort from "onnxruntime-node";
import type { BatchKvCache, KvArray, KvShape } from "../kv/batch-kv-cache.js";
import type { StepInputs } from "../verify/step-inputs.js";
import { halfToFloat, maskToHalf } from "./half.js";
import type { DecoderLayout } from "./layout.js";

export interface ForwardOutput {
  /** [rows, logitsWidth, vocab]: the last `logitsWidth` input positions of each row. */
  logits: Float32Array;
  /** Positions per row that logits and hidden cover: the step's width, or fewer when `keep` limited them. */
  logitsWidth: number;
  /** [rows, logitsWidth, hidden], when the graph outputs it. */
  hidden: Float32Array | null;
  /** The graph's KV outputs, in the cache's element type (float16 graphs: raw half bits). */
  keys: KvArray[];
  values: KvArray[];
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
    return { numLayers: this.layout.numLayers, numKvHeads: this.layout.numKvHeads, headDim: this.layout.headDim, dtype: this.layout.kvType };
  }

  /** Free room kept at the end of the batch cache (only graphs that output new positions alone can use it). */
  get kvRoom(): number {
    return this.layout.kvOutputs === "append" ? KV_ROOM : 0;
  }

  /** Whether `run` can limit logits to the last positions (the graph has num_logits_to_keep). */
  get canKeepLogits(): boolean {
    return this.layout.logitsToKeepName !== null;
  }

  /**
   * Runs the graph. `keep` > 0 asks for the logits (and hidden states) of the
   * last `keep` positions of each row only, when the graph can (see
   * logitsWidth); 0 for all of them.
   */
  async run(inputs: StepInputs, cache: BatchKvCache, keep = 0): Promise<ForwardOutput> {
    const out = await this.session.run(this.feeds(inputs, cache, keep));
    const L = this.layout;
    const logits = out.logits;
    return {
      logits: toFloat(logits),
      logitsWidth: Number(logits.dims[1]),
      hidden: L.hasHiddenState ? toFloat(out.last_hidden_state) : null,
      keys: L.presentKeyNames.map((n) => out[n].data as KvArray),
      values: L.presentValueNames.map((n) => out[n].data as KvArray),
    };
  }

  /** The cache after this pass, keeping the new positions flagged in `keep` (one array per row). */
  advance(cache: BatchKvCache, out: ForwardOutput, keep: Uint8Array[], room = this.kvRoom): BatchKvCache {
    return cache.advance(this.layout.kvOutputs, out.keys, out.values, keep, room);
  }

  release(): Promise<void> {
    return this.session.release();
  }

  private feeds(inputs: StepInputs, cache: BatchKvCache, keep: number): Record<string, ort.Tensor> {
    const L = this.layout;
    const { rows, width: s } = inputs;
    const total = cache.width + s;
    let mask: ort.Tensor;
    if (L.maskRank === 2) mask = new ort.Tensor("int64", inputs.mask as BigInt64Array, [rows, total]);
    else if (L.maskType === "float16") mask = new ort.Tensor("float16", maskToHalf(inputs.mask as Float32Array), [rows, 1, s, total]);
    else mask = new ort.Tensor("float32", inputs.mask as Float32Array, [rows, 1, s, total]);
    const feeds: Record<string, ort.Tensor> = { input_ids: new ort.Tensor("int64", inputs.ids, [rows, s]), attention_mask: mask };
    if (L.hasPositionIds) feeds.position_ids = new ort.Tensor("int64", inputs.positions, [rows, s]);
    if (L.logitsToKeepName) feeds[L.logitsToKeepName] = new ort.Tensor("int64", BigInt64Array.of(BigInt(Math.max(0, Math.min(keep, s)))), []);
    const dims = [rows, L.numKvHeads, cache.width, L.headDim];
    for (let l = 0; l < L.numLayers; l++) {
      feeds[L.pastKeyNames[l]] = new ort.Tensor(L.kvType, cache.keys[l], dims);
      feeds[L.pastValueNames[l]] = new ort.Tensor(L.kvType, cache.values[l], dims);
    }
    return feeds;
  }
}

/** A float output as float32 values (float16 ones converted once, here). */
function toFloat(t: ort.Tensor): Float32Array {
  if (t.type === "float16") return halfToFloat(t.data as Uint16Array);
  if (t.type !== "float32") throw new Error(`decoder output of type ${t.type} (float32 or float16 expected)`);
  return t.data as Float32Array;
}
