// One choice of a response: a runtime stream, consumed chunk by chunk, that
// stops when the client goes away (the request's AbortSignal).

import type { GenerateOptions, GenerationResult, GenerationStream, InferenceEngine, TopLogprob } from "@glimpse/runtime-cuda";

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
  /** The runtime's result with its metrics (always set since JSON mode stopped cutting generations short; see test/spec-metrics). */
  result: GenerationResult | null;
}

export class Choice {
  private constructor(
    private readonly stream: GenerationStream,
    private readonly own: AbortController,
  ) {}

  /**
   * Admits the generation now, so that bad options throw (GlimpseConfigError)
   * before any response byte is sent.
   */
  static start(engine: InferenceEngine, options: GenerateOptions, signal: AbortSignal): Choice {
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
    return new Choice(stream, own);
  }

  /** Cancels a choice that will not be consumed. */
  cancel(): void {
    this.own.abort();
    void this.stream.result.catch(() => {});
  }

  /** Runs to the end; rejects with the runtime's AbortError if the request was aborted. */
  async run(onDelta?: (delta: ChoiceDelta) => void | Promise<void>): Promise<ChoiceOutcome> {
    const text: string[] = [];
    const tokenIds: number[] = [];
    const logprobs: number[] = [];
    let topLogprobs: TopLogprob[][] | undefined;
    for await (const chunk of this.stream) {
      text.push(chunk.text);
      tokenIds.push(...chunk.tokenIds);
      if (chunk.logprobs) logprobs.push(...chunk.logprobs);
      if (chunk.topLogprobs) (topLogprobs ??= []).push(...chunk.topLogprobs);
      if (onDelta && (chunk.text.length > 0 || chunk.tokenIds.length > 0)) {
        await onDelta({ text: chunk.text, tokenIds: chunk.tokenIds, ...(chunk.logprobs ? { logprobs: chunk.logprobs } : {}), ...(chunk.topLogprobs ? { topLogprobs: chunk.topLogprobs } : {}) });
      }
    }
    const result = await this.stream.result;
    return {
      text: text.join(""), tokenIds, logprobs, ...(topLogprobs ? { topLogprobs } : {}),
      finishReason: result.finishReason === "length" ? "length" : "stop",
      result,
    };
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
