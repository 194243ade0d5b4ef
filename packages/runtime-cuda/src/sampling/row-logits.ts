// The target's output over one row's inputs, as the rejection sampler reads
// it: the most likely token at an input, or its full logits. A backend that
// was asked for the argmax alone (llama.cpp, for greedy rows) answers the
// first without ever materialising a vocabulary-sized array.

import { argmax } from "./distribution.js";

export interface RowLogits {
  /** The most likely token at input j (lowest id on ties). */
  argmax(j: number): number;
  /** Input j's logits: `vocab` floats of `data` from `offset`. Throws where only the argmax was computed. */
  logits(j: number): { data: Float32Array; offset: number };
}

/** Logits held in one array: input j at offset + j * vocab. */
export class DenseRowLogits implements RowLogits {
  constructor(private readonly data: Float32Array, private readonly offset: number, private readonly vocab: number) {}

  argmax(j: number): number {
    return argmax(this.data, this.offset + j * this.vocab, this.vocab);
  }

  logits(j: number): { data: Float32Array; offset: number } {
    return { data: this.data, offset: this.offset + j * this.vocab };
  }
}
