// One inline-completion request, from cursor to suggestion: cache (exact and
// typed-through), debounce, one request in flight per document (a newer one
// aborts the older, and the abort reaches the server), post-processing, and
// pre-fetch of the next suggestion after an accept. Free of LSP types so that
// it can be tested and reused directly.

import { randomUUID } from "node:crypto";
import type { GlimpseSettings } from "../shared/protocol.js";
import { CompletionCache } from "./completion-cache.js";
import { debounceWait } from "./debounce.js";
import { contextWindow, type ContextWindow } from "./context-window.js";
import { GlimpseClient, GlimpseError } from "./glimpse-client.js";
import { jsonPrefixFor } from "./json-constraint.js";
import { NEXT_LINE_MAX_TOKENS, NEXT_LINE_STOP, nextLineSuggestion, postprocess, stopsFor, wantsNextLine } from "./postprocess.js";
import type { Status } from "./status.js";

export interface CancelToken {
  readonly isCancellationRequested: boolean;
  onCancellationRequested(listener: () => void): { dispose(): void };
}

export interface CompletionInput {
  uri: string;
  languageId: string;
  text: string;
  /** Cursor offset in `text`. */
  offset: number;
  /**
   * Milliseconds between the last edit of the document and the edit before it,
   * when known. Under debounceMs the user is typing a burst and the request
   * waits for the next key (debounce.ts); after a pause it goes out at once.
   */
  editIntervalMs?: number;
  /** Milliseconds since the last edit: the debounce counts from the keystroke, not from the request's arrival. */
  msSinceEdit?: number;
}

export interface Suggestion {
  /** Text to insert at the cursor. */
  text: string;
  /** Identifies the suggestion when the editor reports it accepted. */
  id: string;
  source: "server" | "cache" | "typed-through" | "prefetch";
}

interface Shown {
  languageId: string;
  ctx: ContextWindow;
  text: string;
  /** JSON documents: the whole text before the suggestion (the window's prefix may be cut). */
  jsonPrefix?: string;
}

export class InlineCompletionEngine {
  readonly cache = new CompletionCache();
  private client: GlimpseClient;
  /** The request in flight per document: a newer request for the same document aborts it. */
  private readonly inFlight = new Map<string, AbortController>();
  /** Server requests by cache key: a request for a context already being fetched (a pre-fetch, a repeated request) joins it. */
  private readonly flights = new Map<string, Flight>();
  /** Recently shown suggestions, by id, for accept statistics and pre-fetch. */
  private readonly shown = new Map<string, Shown>();
  /**
   * Shrinks the character budgets when the server says a prompt is longer than
   * the model allows (tokenizers differ: 3000 characters can be 1000 tokens or 2000).
   */
  private budgetScale = 1;
  /** Called when the server answered after having been offline (resync the workspace documents). */
  onBackOnline: () => void = () => {};
  /** Called with a log line on the transition to offline (one line, not one per keystroke). */
  onOfflineMessage: (message: string) => void = () => {};
  /** Debugging and end-to-end tests: what became of each request (GLIMPSE_LSP_TRACE). */
  onTrace: ((event: Record<string, unknown>) => void) | undefined;

  constructor(
    private settings: GlimpseSettings,
    private readonly status: Status,
  ) {
    this.client = InlineCompletionEngine.clientFor(settings);
  }

  static clientFor(s: GlimpseSettings): GlimpseClient {
    return new GlimpseClient({ baseUrl: s.serverUrl, apiKey: s.apiKey, model: s.model, timeoutMs: s.requestTimeoutMs });
  }

  get glimpse(): GlimpseClient {
    return this.client;
  }

  configure(settings: GlimpseSettings): void {
    const serverChanged = settings.serverUrl !== this.settings.serverUrl || settings.apiKey !== this.settings.apiKey || settings.model !== this.settings.model;
    this.settings = settings;
    this.client = InlineCompletionEngine.clientFor(settings);
    if (serverChanged) {
      // Another server (or model) may complete differently.
      this.cache.clear();
      this.status.online();
    }
    this.status.setDisabled(!settings.enabled);
  }

  languageEnabled(languageId: string): boolean {
    const l = this.settings.enabledLanguages;
    return l.length === 0 || l.includes(languageId) || l.includes("*");
  }

  async provide(input: CompletionInput, token: CancelToken): Promise<Suggestion | null> {
    const s = this.settings;
    if (!s.enabled || !this.languageEnabled(input.languageId)) return null;
    const ctx = contextWindow(input.text, input.offset, Math.round(s.prefixChars * this.budgetScale), Math.round(s.suffixChars * this.budgetScale));
    const jsonPrefix = jsonPrefixFor(input.languageId, input.text, input.offset);

    const hit = this.cache.get(ctx.prefix, ctx.suffix, input.languageId);
    if (hit) {
      this.status.stats.cacheHits++;
      return this.show(hit.text, input.languageId, ctx, hit.kind === "exact" ? "cache" : "typed-through", jsonPrefix);
    }
    // A newer request for this document supersedes the older one (typing moved on).
    this.inFlight.get(input.uri)?.abort();
    const ac = new AbortController();
    this.inFlight.set(input.uri, ac);
    const sub = token.onCancellationRequested(() => ac.abort());
    try {
      const key = CompletionCache.key(ctx.prefix, ctx.suffix, input.languageId);
      let flight = this.flights.get(key);
      const joined = flight !== undefined;
      if (!flight) {
        if (!this.status.mayRequest()) return null;
        // Debounce: typing during the wait cancels this request before it reaches the server.
        const wait = debounceWait(s.debounceMs, input.editIntervalMs, input.msSinceEdit);
        // The token is also read after the wait: its event has been seen to miss a cancel that came early.
        if (wait > 0 && (!(await sleep(wait, ac.signal)) || token.isCancellationRequested)) {
          this.status.stats.cancelled++;
          this.onTrace?.({ event: "debounce-cancelled", uri: input.uri, offset: input.offset, wait });
          return null;
        }
        flight = this.flights.get(key) ?? this.startFlight(ctx, input.languageId, key, jsonPrefix);
      }
      const text = await flight.join(ac.signal);
      if (text === undefined || ac.signal.aborted) {
        this.onTrace?.({ event: "dropped", uri: input.uri, offset: input.offset, aborted: ac.signal.aborted, editorCancelled: token.isCancellationRequested, joined });
        return null;
      }
      if (!text) this.onTrace?.({ event: "empty", uri: input.uri, offset: input.offset, joined });
      if (joined) this.status.stats.cacheHits++;
      return this.show(text, input.languageId, ctx, joined ? "prefetch" : "server", jsonPrefix);
    } finally {
      sub.dispose();
      if (this.inFlight.get(input.uri) === ac) this.inFlight.delete(input.uri);
    }
  }

  /** The user accepted suggestion `id`: count it and pre-fetch the suggestion for the context right after it. */
  accepted(id: string): void {
    const shown = this.shown.get(id);
    if (!shown) return;
    this.shown.delete(id);
    this.status.stats.accepted++;
    this.status.notify();
    if (!this.settings.enabled || !this.status.mayRequest()) return;
    const prefix = shown.ctx.prefix + shown.text;
    const next = contextWindow(prefix + shown.ctx.suffix, prefix.length, this.settings.prefixChars, this.settings.suffixChars);
    if (this.cache.get(next.prefix, next.suffix, shown.languageId)) return;
    const key = CompletionCache.key(next.prefix, next.suffix, shown.languageId);
    if (this.flights.has(key)) return;
    // The pre-fetch holds its own place in the flight, so it completes (and fills the
    // cache) even when the editor's request for this context comes and goes meanwhile.
    const jsonPrefix = shown.jsonPrefix === undefined ? undefined : jsonPrefixFor(shown.languageId, shown.jsonPrefix + shown.text, (shown.jsonPrefix + shown.text).length);
    void this.startFlight(next, shown.languageId, key, jsonPrefix).join(AbortSignal.timeout(this.settings.requestTimeoutMs));
  }

  /** Wait for a pre-fetch or request in flight for this context (tests, benchmarks). */
  async idle(): Promise<void> {
    while (this.flights.size > 0) await Promise.allSettled([...this.flights.values()].map((f) => f.done));
  }

  private startFlight(ctx: ContextWindow, languageId: string, key: string, jsonPrefix?: string): Flight {
    const flight = new Flight((signal) => this.request(ctx, languageId, signal, jsonPrefix));
    this.flights.set(key, flight);
    void flight.done.finally(() => {
      if (this.flights.get(key) === flight) this.flights.delete(key);
    });
    return flight;
  }

  /** One server request; resolves to the post-processed suggestion ("" for none), undefined on error or cancel. */
  private async request(ctx: ContextWindow, languageId: string, signal: AbortSignal, jsonPrefix?: string): Promise<string | undefined> {
    this.status.begin();
    try {
      const ask = (c: ContextWindow) =>
        this.client.complete({ prompt: c.prefix, suffix: c.suffix, maxTokens: this.settings.maxTokens, stop: stopsFor(c, languageId), jsonPrefix, signal });
      let r;
      let sent = ctx;
      try {
        r = await ask(ctx);
      } catch (err) {
        const ratio = tooLongRatio(err, this.settings.maxTokens);
        if (ratio === undefined) throw err;
        // Too long for the model: shrink this window and the budgets from now on, and ask again once.
        this.budgetScale = Math.max(0.05, this.budgetScale * ratio);
        sent = shrink(ctx, ratio);
        r = await ask(sent);
      }
      let text = postprocess(r.text, ctx, languageId);
      this.onTrace?.({ event: "answer", raw: r.text, text, latencyMs: Math.round(r.latencyMs), linePrefix: ctx.linePrefix.slice(-40), jsonConstrained: r.jsonConstrained });
      const wasOffline = this.status.current === "offline";
      this.status.recordRequest(r.latencyMs, r.completionTokens, r.tokensPerSecond, r.draftTokens, r.acceptedDraftTokens);
      // The model ended a half-written line at once: offer the next line instead of nothing.
      if (!text && wantsNextLine(r.text, sent, languageId)) {
        const maxTokens = Math.min(this.settings.maxTokens, NEXT_LINE_MAX_TOKENS);
        const r2 = await this.client.complete({ prompt: sent.prefix, suffix: sent.suffix, maxTokens, stop: NEXT_LINE_STOP, signal });
        text = nextLineSuggestion(r2.text, sent, languageId);
        this.onTrace?.({ event: "next-line", raw: r2.text, text, latencyMs: Math.round(r2.latencyMs) });
        this.status.recordRequest(r2.latencyMs, r2.completionTokens, r2.tokensPerSecond, r2.draftTokens, r2.acceptedDraftTokens);
      }
      this.cache.set(ctx.prefix, ctx.suffix, languageId, text);
      if (wasOffline) this.onBackOnline();
      return text;
    } catch (err) {
      this.handleError(err);
      return undefined;
    } finally {
      this.status.end();
    }
  }

  private handleError(err: unknown): void {
    if (err instanceof GlimpseError && err.kind === "aborted") {
      this.status.stats.cancelled++;
      return;
    }
    this.status.stats.errors++;
    const message = err instanceof Error ? err.message : String(err);
    // No server, a timeout, or a refused key: stop asking for a while (one message, no storm).
    const fatal = !(err instanceof GlimpseError) || err.kind !== "http" || err.status === 401 || err.status === 403 || (err.status ?? 0) >= 500;
    if (fatal) {
      if (this.status.offline(message)) this.onOfflineMessage(message);
    } else {
      this.status.notify();
    }
  }

  /** Probes the server's health while offline; true when it is back. */
  async probe(): Promise<boolean> {
    try {
      await this.client.health();
      if (this.status.current === "offline") {
        this.status.online();
        this.onBackOnline();
      }
      return true;
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (this.status.offline(message)) this.onOfflineMessage(message);
      return false;
    }
  }

  private show(text: string, languageId: string, ctx: ContextWindow, source: Suggestion["source"], jsonPrefix?: string): Suggestion | null {
    if (!text) return null;
    const id = randomUUID();
    this.shown.set(id, { languageId, ctx, text, ...(jsonPrefix !== undefined ? { jsonPrefix } : {}) });
    // Only the latest few can still be accepted.
    while (this.shown.size > 64) this.shown.delete(this.shown.keys().next().value as string);
    this.status.stats.shown++;
    return { text, id, source };
  }
}

/** Resolves true after ms, or false as soon as the signal aborts. */
function sleep(ms: number, signal: AbortSignal): Promise<boolean> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(false);
    const t = setTimeout(() => {
      signal.removeEventListener("abort", onAbort);
      resolve(true);
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      resolve(false);
    };
    signal.addEventListener("abort", onAbort, { once: true });
  });
}

/**
 * A server request shared by everyone who wants its context. Each waiter joins
 * with its own signal; the HTTP request is aborted (on the server too) only
 * when every waiter has gone.
 */
class Flight {
  static readonly GRACE_MS = 30;
  private readonly controller = new AbortController();
  private waiters = 0;
  readonly done: Promise<string | undefined>;

  constructor(run: (signal: AbortSignal) => Promise<string | undefined>) {
    this.done = run(this.controller.signal);
  }

  join(signal: AbortSignal): Promise<string | undefined> {
    if (signal.aborted) return Promise.resolve(undefined);
    this.waiters++;
    return new Promise((resolve) => {
      const leave = () => {
        // Editors often cancel and re-ask for the same position at once: give a new
        // waiter a moment to join before aborting the request on the server.
        if (--this.waiters === 0) setTimeout(() => this.waiters === 0 && this.controller.abort(), Flight.GRACE_MS);
        resolve(undefined);
      };
      signal.addEventListener("abort", leave, { once: true });
      void this.done.then((text) => {
        signal.removeEventListener("abort", leave);
        this.waiters--;
        resolve(text);
      });
    });
  }
}

/**
 * For the server's "the prompt is N tokens, but this model allows at most M
 * tokens" (HTTP 400): the fraction of the window that fits, with room for the
 * completion and a margin. Undefined for any other error.
 */
function tooLongRatio(err: unknown, maxTokens: number): number | undefined {
  if (!(err instanceof GlimpseError) || err.status !== 400) return undefined;
  const m = /prompt is (\d+) tokens, but this model allows at most (\d+) tokens/.exec(err.message);
  if (!m) return undefined;
  const [promptTokens, limit] = [Number(m[1]), Number(m[2])];
  const room = limit - maxTokens - 16;
  if (room <= 0 || promptTokens <= 0) return undefined;
  return Math.min(0.95, (0.9 * room) / promptTokens);
}

function shrink(ctx: ContextWindow, ratio: number): ContextWindow {
  const p = Math.floor(ctx.prefix.length * ratio);
  const s = Math.floor(ctx.suffix.length * ratio);
  return { ...ctx, prefix: ctx.prefix.slice(ctx.prefix.length - p), suffix: ctx.suffix.slice(0, s) };
}
