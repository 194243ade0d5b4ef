// What llama.cpp gives back at a row's inputs, as the rejection sampler reads
// it (sampling/row-logits.ts), and what to ask it for. node-llama-cpp returns
// logits as a Map of (token, logit) pairs built from a JavaScript array of
// boxed numbers: at a 151,936-token vocabulary a position cost about 0.5 s
// that way against 15 ms for the argmax alone (measured on a loaded 2-core
// machine), so a greedy row asks for llama.cpp's own argmax alone (its greedy
// sampler: the first maximum, as ours), and a row sampling with top-k for the
// top k alone.

import type { LogitsNeed } from "../decoder-backend.js";
import { argmax } from "../../sampling/distribution.js";
import type { RowLogits } from "../../sampling/row-logits.js";
import type { EvaluateOutput, GenerateNext } from "./node-llama.js";

/** What to ask llama.cpp for at each input of a row with this need. */
export function generateNext(need: LogitsNeed): GenerateNext {
  if (need === "argmax") return { token: true };
  if (need === "logits") return { logits: true };
  return { logits: { filter: { tokens: [], includeTop: need.top } } };
}

export class LlamaRowLogits implements RowLogits {
  /** Input j's logits as one array (-Infinity where llama.cpp gave none), built on first read and kept: a grammar mask is applied in place. */
  private readonly dense: (Float32Array | undefined)[] = [];

  constructor(private readonly outputs: readonly (EvaluateOutput | undefined)[], private readonly vocab: number) {}

  argmax(j: number): number {
    const next = this.output(j);
    if (next.logits === undefined && typeof next.token === "number") return next.token;
    return argmax(this.array(j), 0, this.vocab);
  }

  logits(j: number): { data: Float32Array; offset: number } {
    return { data: this.array(j), offset: 0 };
  }

  private output(j: number): EvaluateOutput["next"] {
    const out = this.outputs[j];
    if (!out) throw new Error(`llama.cpp returned no output for input ${j}`);
    return out.next;
  }

  private array(j: number): Float32Array {
    const have = this.dense[j];
    if (have) return have;
    const map = this.output(j).logits;
    if (!map) throw new Error(`input ${j}: only the argmax was asked of llama.cpp (the row's logits need is "argmax")`);
    const data = new Float32Array(this.vocab).fill(-Infinity);
    for (const [token, logit] of map) if (token >= 0 && token < this.vocab) data[token] = logit;
    this.dense[j] = data;
    return data;
  }
}
