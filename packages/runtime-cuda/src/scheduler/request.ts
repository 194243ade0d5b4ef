// One generation request: its options, validated, and its state between steps.

import { GlimpseConfigError } from "../errors.js";
import { type SpecMetrics, emptyMetrics } from "../metrics.js";
import type { SamplingParams } from "../sampling/distribution.js";
import { IncrementalDetokenizer } from "../text/incremental-detokenizer.js";
import { StopStringMatcher } from "../text/stop-strings.js";
import type { TextTokenizer } from "../model/tokenizer.js";
import type { KvRows } from "../backend/decoder-backend.js";
import type { AdaptiveState } from "../adaptive/state.js";
import type { SamplingRequest, TopLogprob } from "../sampling/rejection-sampler.js";
import type { OutputConstraint } from "../grammar/constraint.js";
import type { RequestGrammar } from "../grammar/request-grammar.js";
import type { GenerationStream } from "../inference-engine.js";
import { ChunkQueue } from "./chunk-queue.js";

export interface GenerateOptions {
  /** Text prompt (encoded with the model's tokenizer, with its post-processor's special tokens such as a BOS), or: */
  prompt?: string;
  /** Prompt token ids. */
  promptIds?: readonly number[];
  /** Most tokens to generate (default: the model's generation_config max_new_tokens). */
  maxTokens?: number;
  /** 0 (default) decodes greedily; > 0 samples. */
  temperature?: number;
  /** Nucleus sampling mass in (0, 1]. */
  topP?: number;
  /** Sample among the k most likely tokens (0: all). */
  topK?: number;
  /** Makes sampling reproducible: the same seed gives the same tokens, with or without speculation. */
  seed?: number;
  /** Strings that end generation (not included in the output). */
  stop?: readonly string[];
  /** Token ids that end generation, besides EOS. */
  stopTokenIds?: readonly number[];
  ignoreEos?: boolean;
  /** Report the log-probability of each generated token. */
  logprobs?: boolean;
  /** Also report the k most likely tokens at each position, with their log-probabilities (0..20; implies logprobs). */
  topLogprobs?: number;
  /** Use the engine's proposer for this request (default true). */
  speculate?: boolean;
  /**
   * Structured output: the output must match this JSON schema, regex,
   * grammar, choice... (grammar/constraint.ts). Greedy output is exactly
   * constrained plain decoding's; sampling draws from the masked,
   * renormalised distribution. The output ends ("stop") where the grammar
   * admits nothing more, ignoreEos or not. Not with forcedOutput.
   */
  constraint?: OutputConstraint;
  /**
   * With a constraint: text the grammar forces (keys, punctuation, closing
   * brackets) is drafted for free and verified like any draft, with or
   * without a proposer (default true; the output is the same either way).
   */
  jumpForward?: boolean;
  /**
   * For benchmarks only (trace replay; the HTTP server never sets it): these
   * tokens are the output, in place of the target's choice at each position:
   * a draft token is accepted exactly when it equals the next of them, so
   * speculation costs what it would if the model had written this text. The
   * model still runs every forward pass. max_tokens defaults to its length
   * (and may not exceed it); stop conditions still apply.
   */
  forcedOutput?: readonly number[];
  /**
   * Streaming: deliver chunks at most this often (milliseconds), merging the
   * ones generated in between; the first is delivered at once. Default 0
   * (one chunk per decoding step).
   */
  streamCoalesceMs?: number;
  signal?: AbortSignal;
}

export type FinishReason = "stop" | "length" | "abort";

export interface GenerationChunk {
  tokenIds: number[];
  text: string;
  logprobs?: number[];
  /** Per token, the `topLogprobs` most likely tokens at its position, most likely first. */
  topLogprobs?: TopLogprob[][];
}

export interface GenerationResult {
  text: string;
  tokenIds: number[];
  logprobs?: number[];
  topLogprobs?: TopLogprob[][];
  finishReason: FinishReason;
  promptTokens: number;
  /** Prompt tokens whose KV came from the prompt cache (not computed again). */
  cachedPromptTokens: number;
  completionTokens: number;
  metrics: SpecMetrics & { timeToFirstTokenMs: number; totalMs: number; tokensPerSecond: number };
}

function check(field: string, ok: boolean, what: string, value: unknown): void {
  if (!ok) throw new GlimpseConfigError(field, `${what}, got ${JSON.stringify(value) ?? String(value)}`);
}

export function samplingFrom(o: GenerateOptions): SamplingParams {
  const t = o.temperature ?? 0;
  check("temperature", typeof t === "number" && Number.isFinite(t) && t >= 0 && t <= 100, "must be a number in [0, 100]", t);
  const topP = o.topP ?? 1;
  check("top_p", typeof topP === "number" && topP > 0 && topP <= 1, "must be a number in (0, 1]", topP);
  const topK = o.topK ?? 0;
  check("top_k", Number.isInteger(topK) && topK >= 0, "must be an integer >= 0", topK);
  return { temperature: t, topP, topK };
}

export class RequestState implements SamplingRequest {
  /** Prompt and generated tokens; the last one is not yet in the KV cache. */
  readonly tokens: number[];
  readonly output: number[] = [];
  readonly outputLogprobs: number[] = [];
  readonly outputTopLogprobs: TopLogprob[][] = [];
  text = "";
  /** Seed of this request's sampling (given, or drawn at random). */
  readonly seed: number;
  readonly detokenizer: IncrementalDetokenizer;
  readonly stopStrings: StopStringMatcher;
  readonly stopIds: Set<number>;
  readonly metrics: SpecMetrics = emptyMetrics();
  /** Prompt tokens whose KV came from the prompt cache. */
  cachedPromptTokens = 0;
  readonly queue: ChunkQueue;
  /** Hidden state that produced the last token (speculator input). */
  hidden?: Float32Array;
  /** Its KV state outside the batch (after its prompt, while preempted, after stepping alone), until it joins the batch. */
  ownKv: KvRows | null = null;
  /** Row in the batch cache, or -1. */
  row = -1;
  /** Scheduler steps: when the request (last) started waiting, and (last) got its row (admission.ts). */
  queuedAt = 0;
  heldSince = 0;
  finishReason: FinishReason | null = null;
  /** A constrained request's grammar state (grammar/request-grammar.ts), set before it joins the queue. */
  grammar: RequestGrammar | null = null;
  /** Unhooks the request from its AbortSignal. */
  detach: () => void = () => {};
  readonly startedAt = performance.now();
  firstTokenAt = 0;

  constructor(
    readonly id: number,
    promptIds: readonly number[],
    readonly options: GenerateOptions,
    readonly sampling: SamplingParams,
    readonly maxTokens: number,
    eosIds: readonly number[],
    tokenizer: TextTokenizer,
    readonly speculate: boolean,
    /** Draft budget and pauses (adaptive/). */
    readonly adaptive: AdaptiveState,
  ) {
    this.result = new Promise<GenerationResult>((res, rej) => {
      this.resolve = res;
      this.reject = rej;
    });
    this.result.catch(() => {}); // the stream reports errors too; avoid unhandled rejections
    this.tokens = [...promptIds];
    this.promptLength = promptIds.length;
    this.queue = new ChunkQueue(options.streamCoalesceMs ?? 0);
    this.seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
    this.detokenizer = new IncrementalDetokenizer(tokenizer);
    this.stopStrings = new StopStringMatcher(options.stop ?? []);
    // The folder's EOS ids (generation_config.json, config.json) and the tokenizer's own eos_token, as vLLM stops on both.
    // A constrained request's grammar allows them only where its output is complete: they end it, ignoreEos or not.
    const eos = options.ignoreEos && !options.constraint ? [] : [...eosIds, ...(tokenizer.eosTokenId !== undefined ? [tokenizer.eosTokenId] : [])];
    this.stopIds = new Set([...eos, ...(options.stopTokenIds ?? [])]);
  }

  readonly promptLength: number;
  /** Settles when the request ends (`generate`'s promise, a stream's `result`). */
  readonly result: Promise<GenerationResult>;
  resolve!: (r: GenerationResult) => void;
  reject!: (e: unknown) => void;

  /** Calls `onAbort` when the signal aborts; false if it already has. Unhooked when the request ends (detach): long-lived signals must not keep requests alive. */
  listen(signal: AbortSignal | undefined, onAbort: () => void): boolean {
    if (!signal) return true;
    if (signal.aborted) return false;
    signal.addEventListener("abort", onAbort, { once: true });
    this.detach = () => signal.removeEventListener("abort", onAbort);
    return true;
  }

  /** Its chunks as they are verified; leaving the loop early (break, return, throw) calls `cancel`. */
  stream(cancel: () => void): GenerationStream {
    const gen = (async function* (state: RequestState) {
      try {
        yield* state.queue.drain();
      } finally {
        if (!state.finishReason) cancel();
      }
    })(this) as GenerationStream;
    gen.result = this.result;
    return gen;
  }

  /** Tokens it may still generate. */
  get remaining(): number {
    return this.maxTokens - this.output.length;
  }

  /** Waiting with its KV state kept (preempted): it resumes without a prefill. */
  get resumable(): boolean {
    return this.ownKv !== null;
  }

  get outputLength(): number {
    return this.output.length;
  }

  get logprobs(): boolean {
    return this.options.logprobs === true || this.topLogprobs > 0;
  }

  get topLogprobs(): number {
    return this.options.topLogprobs ?? 0;
  }

  /** Grammar-forced text is drafted (see GenerateOptions.jumpForward). */
  get jumpForward(): boolean {
    return this.grammar !== null && this.options.jumpForward !== false;
  }

  get forcedOutput(): readonly number[] | undefined {
    return this.options.forcedOutput;
  }

  get lastToken(): number {
    return this.tokens[this.tokens.length - 1];
  }

  /** Tokens already in the KV cache. */
  get cachedLength(): number {
    return this.tokens.length - 1;
  }
}
