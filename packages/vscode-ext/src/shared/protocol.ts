// Messages between the VS Code extension (or any LSP client) and the Glimpse
// language server, beyond standard LSP. Plain method names and JSON shapes, so
// other editors can speak them too; all of them are optional for a client.

/** Settings the language server needs. Sent as initializationOptions and again with `glimpse/configure`. */
export interface GlimpseSettings {
  /** Base URL of the Glimpse server (no trailing /v1). */
  serverUrl: string;
  /** Bearer key for the server, or empty. The extension reads it from SecretStorage, never from settings. */
  apiKey: string;
  /** Most tokens one suggestion may have. */
  maxTokens: number;
  /**
   * While typing, wait at most this long after a keystroke before asking the server (typing cancels the
   * wait): less when the keys come fast (1.5 times the last interval between them); none after a pause.
   */
  debounceMs: number;
  /** Character budget of the text before the cursor sent as `prompt`. */
  prefixChars: number;
  /** Character budget of the text after the cursor sent as `suffix`. */
  suffixChars: number;
  /** Language ids that get suggestions; empty means all. */
  enabledLanguages: string[];
  /** Suggestions on/off (the toggle command). */
  enabled: boolean;
  /** Send open and recently edited documents to the server's suffix context. */
  workspaceContext: boolean;
  /** Give up on a completion request after this long. */
  requestTimeoutMs: number;
  /** Model name sent with requests, or empty for the server's default. */
  model: string;
}

export const DEFAULT_SETTINGS: GlimpseSettings = {
  serverUrl: "http://127.0.0.1:8000",
  apiKey: "",
  maxTokens: 64,
  debounceMs: 150,
  // The embedded model was trained on 320-token rows (about 1,000 characters): a longer window
  // costs prefill time and brings it little (see README).
  prefixChars: 1500,
  suffixChars: 500,
  enabledLanguages: [],
  enabled: true,
  workspaceContext: true,
  requestTimeoutMs: 10_000,
  model: "",
};

/** Client -> server notification: replace some settings. */
export const CONFIGURE = "glimpse/configure";
export type ConfigureParams = Partial<GlimpseSettings>;

/** Server -> client notification whenever the state or the statistics change. */
export const STATUS = "glimpse/status";
export type ServerState = "ready" | "working" | "offline" | "disabled";
export interface StatusParams {
  state: ServerState;
  /** Human-readable reason (offline: what failed). */
  message?: string;
  stats: CompletionStats;
}

/** Counters kept by the language server; `glimpse/stats` returns them too. */
export interface CompletionStats {
  /** Requests answered by the Glimpse server. */
  requests: number;
  /** Answered from the cache (exact context or typed-through) or from a pre-fetch. */
  cacheHits: number;
  /** Cancelled (by typing or by a newer request for the same document). */
  cancelled: number;
  errors: number;
  /** Suggestions returned to the editor / accepted by the user. */
  shown: number;
  accepted: number;
  /** Last request: milliseconds from sending to the answer, tokens, tokens per second. */
  lastLatencyMs: number | null;
  lastTokens: number | null;
  lastTokensPerSecond: number | null;
  /** Speculation over all requests: accepted draft tokens / proposed draft tokens. */
  draftTokens: number;
  acceptedDraftTokens: number;
  /** Median request latency over the last 100 requests. */
  p50LatencyMs: number | null;
  /** Documents currently in the server's suffix context. */
  contextDocuments: number;
}

/** Client -> server request: the statistics now. */
export const STATS = "glimpse/stats";

/**
 * The command every suggestion carries (LSP InlineCompletionItem.command): the
 * editor runs it when the user accepts, and the client forwards its argument
 * as the `glimpse/accepted` notification (stats, and pre-fetch of the next one).
 */
export const ACCEPTED_COMMAND = "glimpse.accepted";
export const ACCEPTED = "glimpse/accepted";
export interface AcceptedParams {
  /** Id the server put in the command's arguments. */
  id: string;
}
