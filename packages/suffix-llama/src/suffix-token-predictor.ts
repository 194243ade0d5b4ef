// A node-llama-cpp TokenPredictor that drafts with suffix decoding (@glimpse/suffix-wasm).
//
// How node-llama-cpp drives a predictor (LlamaContextSequence's speculative evaluation): `reset` with the
// sequence's tokens when a generation starts, `predictTokens` before each evaluation (the draft is evaluated in
// the same batch and checked against what the model samples), `pushTokens` with each token the generation
// adds, `stop(true)` after a refuted draft, and `stop()` when the generation ends. Here a generation is one
// request of the suffix cache: its prompt is the sequence's tokens at `reset`, its response the tokens pushed
// after; `stop()` ends it, and its response stays in the cache's global tree for every later generation of
// every predictor that shares the cache.

import type { Token, TokenPredictor as TokenPredictorBase } from "node-llama-cpp";
import type { SuffixDecodingCache, ResolvedSpeculateOptions } from "@glimpse/suffix-wasm";
import { loadNodeLlamaCpp } from "./load-node-llama-cpp.js";
import { resolveOptions, type SuffixTokenPredictorOptions } from "./options.js";

const { TokenPredictor, DisposedError } = await loadNodeLlamaCpp();

// Request ids are unique across predictors, which may share one cache.
let nextPredictorId = 0;

export class SuffixTokenPredictor extends TokenPredictor {
  /** The suffix cache this predictor drafts from and teaches (shared or its own). */
  readonly cache: SuffixDecodingCache;
  private readonly ownsCache: boolean;
  private readonly draftOptions: ResolvedSpeculateOptions;
  private readonly idPrefix = `llama:${nextPredictorId++}:`;
  private nextRequest = 0;
  private requestId: string | null = null;
  private responseLength = 0;
  // Whether this generation's request was started (it starts lazily; see request()).
  private started = true;
  // The sequence's tokens: what the cache matches the tail of.
  private state: number[] = [];
  private disposed = false;

  constructor(options: SuffixTokenPredictorOptions = {}) {
    super();
    const resolved = resolveOptions(options);
    this.cache = resolved.cache;
    this.ownsCache = resolved.ownsCache;
    this.draftOptions = resolved.draft;
  }

  /** Most tokens per draft. */
  get maxTokens(): number {
    return this.draftOptions.maxSpecTokens;
  }

  /** Whether `dispose` has run (the sequence it served was disposed, or the caller disposed it). */
  get isDisposed(): boolean {
    return this.disposed;
  }

  override reset({ stateTokens }: Parameters<TokenPredictorBase["reset"]>[0]): void {
    this.ensureNotDisposed();
    this.finishRequest();
    this.state = stateTokens.slice();
    this.started = false;
  }

  override pushTokens(tokens: Token[]): void {
    if (this.disposed || tokens.length === 0) return;
    const id = this.request();
    for (const t of tokens) this.state.push(t);
    if (id === null) return;
    this.cache.addActiveResponse(id, tokens);
    this.responseLength += tokens.length;
  }

  override predictTokens(): Token[] {
    this.ensureNotDisposed();
    const id = this.request();
    if (id === null || this.draftOptions.maxSpecTokens === 0) return [];
    // Only the tail is matched; passing just it keeps each call independent of the context's length.
    const tail = this.state.length > this.cache.maxTreeDepth + 1 ? this.state.slice(-(this.cache.maxTreeDepth + 1)) : this.state;
    const draft = this.cache.speculate(id, tail, this.draftOptions);
    return Array.from(draft.tokenIds) as Token[];
  }

  override stop(untilPredictionsExhausted = false): void {
    // stop(true) follows a refuted draft, mid-generation: drafting is synchronous here, so there is nothing
    // to pause. stop() ends the generation.
    if (!untilPredictionsExhausted) this.finishRequest();
  }

  override dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.finishRequest();
    if (this.ownsCache) this.cache.dispose();
    this.state = [];
  }

  /**
   * The generation's request, started on first use after `reset`: a reset that only loads a prompt
   * (`evaluateWithoutGeneratingNewTokens`, a preloaded chat prompt) then neither indexes it nor takes a
   * slot of the response cache, which would evict the oldest response. Null between generations.
   */
  private request(): string | null {
    if (this.requestId !== null) return this.requestId;
    if (this.started) return null; // ended by stop(): nothing more until the next reset
    this.started = true;
    const id = `${this.idPrefix}${this.nextRequest++}`;
    this.cache.startRequest(id, this.state);
    this.requestId = id;
    return id;
  }

  private finishRequest(): void {
    const id = this.requestId;
    if (id === null) return;
    this.requestId = null;
    if (this.cache.isActive(id)) this.cache.stopRequest(id);
    // A generation that produced nothing (a prompt preloaded, say) should not take a slot of the FIFO.
    if (this.responseLength === 0 && this.cache.isCached(id)) this.cache.evictCachedResponse(id);
    this.responseLength = 0;
  }

  private ensureNotDisposed(): void {
    if (this.disposed) throw new DisposedError();
  }
}
