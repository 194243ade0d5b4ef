// The language server's state (ready / working / offline / disabled) and
// counters, pushed to the client as `glimpse/status`. Offline handling backs
// off: after a failure no request goes out until a health probe succeeds, so a
// missing server costs one message, not one error per keystroke.

import type { CompletionStats, ServerState, StatusParams } from "../shared/protocol.js";

export type StatusSink = (p: StatusParams) => void;

function emptyStats(): CompletionStats {
  return {
    requests: 0, cacheHits: 0, cancelled: 0, errors: 0, shown: 0, accepted: 0,
    lastLatencyMs: null, lastTokens: null, lastTokensPerSecond: null,
    draftTokens: 0, acceptedDraftTokens: 0, p50LatencyMs: null, contextDocuments: 0,
  };
}

export class Status {
  readonly stats = emptyStats();
  private state: ServerState = "ready";
  private message: string | undefined;
  private readonly latencies: number[] = [];
  private working = 0;
  /** Offline: no requests before this time (ms since epoch). */
  private retryAt = 0;
  private backoffMs = 0;

  constructor(
    private readonly sink: StatusSink,
    /** First and longest wait between health probes while offline. */
    private readonly minBackoffMs = 1000,
    private readonly maxBackoffMs = 30_000,
  ) {}

  get current(): ServerState {
    return this.state;
  }

  /** False while offline and the back-off has not expired. */
  mayRequest(now = Date.now()): boolean {
    return this.state !== "offline" || now >= this.retryAt;
  }

  setDisabled(disabled: boolean): void {
    if (disabled) this.set("disabled", "suggestions turned off");
    else if (this.state === "disabled") this.set("ready", undefined);
  }

  begin(): void {
    this.working++;
    if (this.state === "ready") this.set("working", undefined);
  }

  end(): void {
    this.working = Math.max(0, this.working - 1);
    if (this.working === 0 && this.state === "working") this.set("ready", undefined);
  }

  recordRequest(latencyMs: number, tokens: number, tokensPerSecond: number | null, draftTokens: number, acceptedDraftTokens: number): void {
    const s = this.stats;
    s.requests++;
    s.lastLatencyMs = Math.round(latencyMs);
    s.lastTokens = tokens;
    s.lastTokensPerSecond = tokensPerSecond === null ? null : Math.round(tokensPerSecond);
    s.draftTokens += draftTokens;
    s.acceptedDraftTokens += acceptedDraftTokens;
    this.latencies.push(latencyMs);
    if (this.latencies.length > 100) this.latencies.shift();
    const sorted = [...this.latencies].sort((a, b) => a - b);
    s.p50LatencyMs = Math.round(sorted[Math.floor((sorted.length - 1) / 2)]);
    this.online();
  }

  /** The server answered (any request): leave the offline state. Returns true when it was offline. */
  online(): boolean {
    this.backoffMs = 0;
    this.retryAt = 0;
    if (this.state === "offline") {
      this.set(this.working > 0 ? "working" : "ready", undefined);
      return true;
    }
    this.notify();
    return false;
  }

  /** No server (or it refused us): back off; the state message says why. Returns true on the transition to offline. */
  offline(message: string, now = Date.now()): boolean {
    this.backoffMs = this.backoffMs === 0 ? this.minBackoffMs : Math.min(this.maxBackoffMs, this.backoffMs * 2);
    this.retryAt = now + this.backoffMs;
    const changed = this.state !== "offline" || this.message !== message;
    if (this.state !== "disabled") this.set("offline", message);
    return changed;
  }

  /** Milliseconds until the next probe while offline. */
  get retryInMs(): number {
    return Math.max(0, this.retryAt - Date.now());
  }

  notify(): void {
    this.sink({ state: this.state, message: this.message, stats: { ...this.stats } });
  }

  private set(state: ServerState, message: string | undefined): void {
    this.state = state;
    this.message = message;
    this.notify();
  }
}
