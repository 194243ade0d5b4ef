// The sequences of one llama.cpp context, handed out to rows. A context has a
// fixed number of them (each with its own KV cells); all are taken at once and
// reused: a freed sequence is cleared, then handed to the next row. A row that
// asks while none is free waits for one (the engine never has more rows than
// sequences, except while a background cost measurement holds some for a pass).

import type { LlamaContext, LlamaContextSequence } from "./node-llama.js";

export class SequencePool {
  private readonly free: LlamaContextSequence[] = [];
  private readonly waiting: ((seq: LlamaContextSequence) => void)[] = [];

  constructor(context: LlamaContext, count: number) {
    for (let i = 0; i < count; i++) {
      // The engine keeps every row within the context size, so llama.cpp must never shift a sequence's context.
      this.free.push(context.getSequence({
        contextShift: {
          strategy: () => {
            throw new Error("a llama.cpp sequence ran out of context (maxModelLen is larger than the context)");
          },
        },
      }));
    }
  }

  acquire(): Promise<LlamaContextSequence> {
    const seq = this.free.pop();
    if (seq) return Promise.resolve(seq);
    return new Promise((res) => this.waiting.push(res));
  }

  /** Clears a sequence's KV cells and tokens, then hands it to a waiting row or keeps it. */
  async release(seq: LlamaContextSequence): Promise<void> {
    if (seq.nextTokenIndex > 0) await seq.clearHistory();
    const next = this.waiting.shift();
    if (next) next(seq);
    else this.free.push(seq);
  }
}
