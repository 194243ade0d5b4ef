// One choice of a response: a runtime stream, consumed chunk by chunk, that
// stops when the client goes away (the request's AbortSignal) or when a text
// filter says the answer is complete (JSON mode).

import type { GenerateOptions, GenerationResult, GenerationStream, InferenceEngine, TopLogprob } from "@glimpse/runtime-cuda";
import type { TextFilter } from "./json-mode.js";

export interface ChoiceDelta {
  text: string;
  tokenIds: number[];
  logprobs?: number[];
  /** Per token, the most likely tokens at its position (when asked for). */
  topLogprobs?: TopLogprob[][];
}

export interface ChoiceOutcome {
  text: string;
  tokenIds: number[];
  logprobs: number[];
  topLogprobs?: TopLogprob[][];
  finishReason: "stop" | "length";
  /** The runtime's result with its metrics; null when the server cut the generation short. */
  result: GenerationResult | null;
}

export class Choice {
  private constructor(
    private readonly stream: GenerationStream,
    private readonly own: AbortController,
    private readonly filter: TextFilter | null,
  ) {}

  /**
   * Admits the generation now, so that bad options throw (GlimpseConfigError)
   * before any response byte is sent.
   */
  static start(engine: InferenceEngine, options: GenerateOptions, signal: AbortSignal, filter: TextFilter | null = null): Choice {
    // Not AbortSignal.any: Node keeps composite signals that have listeners
    // (the runtime adds one) alive until they abort, which leaks every request.
    const own = new AbortController();
    const stream = engine.stream({ ...options, signal: own.signal });
    const forward = () => own.abort();
    signal.addEventListener("abort", forward, { once: true });
    void stream.result.then(
      () => signal.removeEventListener("abort", forward),
      () => signal.removeEventListener("abort", forward),
    );
    return new Choice(stream, own, filter);
  }

  /** Cancels a choice that will not be consumed. */
  cancel(): void {
    this.own.abort();
    void this.stream.result.catch(() => {});
  }

  /** Runs to the end; rejects with the runtime's AbortError if the request was aborted. */
  async run(onDelta?: (delta: ChoiceDelta) => void | Promise<void>): Promise<ChoiceOutcome> {
    const out: ChoiceOutcome = { text: "", tokenIds: [], logprobs: [], finishReason: "length", result: null };
    let cut = false;
    try {
      for await (const chunk of this.stream) {
        let text = chunk.text;
        if (this.filter) {
          const f = this.filter.push(text);
          text = f.emit;
          cut = f.done;
        }
        out.text += text;
        out.tokenIds.push(...chunk.tokenIds);
        if (chunk.logprobs) out.logprobs.push(...chunk.logprobs);
        if (chunk.topLogprobs) (out.topLogprobs ??= []).push(...chunk.topLogprobs);
        if (onDelta && (text.length > 0 || chunk.tokenIds.length > 0)) {
          await onDelta({ text, tokenIds: chunk.tokenIds, ...(chunk.logprobs ? { logprobs: chunk.logprobs } : {}), ...(chunk.topLogprobs ? { topLogprobs: chunk.topLogprobs } : {}) });
        }
        if (cut) {
          this.own.abort();
          break;
        }
      }
    } catch (err) {
      if (!cut) throw err;
    }
    if (cut) {
      void this.stream.result.catch(() => {});
      out.finishReason = "stop";
      return out;
    }
    const result = await this.stream.result;
    out.finishReason = result.finishReason === "length" ? "length" : "stop";
    out.result = result;
    return out;
  }
}

/** Starts n choices at once, cancelling those already started if one is refused. */
export function startChoices(n: number, start: (i: number) => Choice): Choice[] {
  const choices: Choice[] = [];
  try {
    for (let i = 0; i < n; i++) choices.push(start(i));
  } catch (err) {
    for (const c of choices) c.cancel();
    throw err;
  }
  return choices;
}
