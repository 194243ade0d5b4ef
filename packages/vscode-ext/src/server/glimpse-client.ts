// The Glimpse REST API as the language server uses it: fill-in-the-middle
// completions and the suffix-context documents. fetch + AbortController: an
// aborted request closes its connection, and the server stops generating for it.
// In JSON documents a completion is constrained by the server's `json_prefix`
// (the document's text before the cursor stays a valid JSON prefix with it);
// when the server refuses that field (the text is not a JSON prefix, or an
// older server), the request is made again without it.

export interface CompletionRequest {
  prompt: string;
  suffix: string;
  maxTokens: number;
  stop?: string[];
  /** JSON documents: the whole text before the cursor; the completion keeps it a valid JSON prefix. */
  jsonPrefix?: string;
  signal?: AbortSignal;
}

export interface CompletionResult {
  text: string;
  finishReason: string | null;
  completionTokens: number;
  /** Whether the server constrained the completion to keep the document a JSON prefix. */
  jsonConstrained: boolean;
  /** Wall time of the HTTP request. */
  latencyMs: number;
  tokensPerSecond: number | null;
  draftTokens: number;
  acceptedDraftTokens: number;
}

/** Why a request failed; `offline` means no server answered at all. */
export type GlimpseErrorKind = "offline" | "http" | "timeout" | "aborted" | "protocol";

export class GlimpseError extends Error {
  constructor(
    readonly kind: GlimpseErrorKind,
    message: string,
    readonly status?: number,
    /** The request field an HTTP 400 names (OpenAI's error.param). */
    readonly param?: string,
  ) {
    super(message);
    this.name = "GlimpseError";
  }
}

export interface GlimpseClientOptions {
  baseUrl: string;
  apiKey?: string;
  model?: string;
  timeoutMs?: number;
}

export class GlimpseClient {
  readonly baseUrl: string;
  private readonly apiKey: string;
  private readonly model: string;
  private readonly timeoutMs: number;

  constructor(o: GlimpseClientOptions) {
    this.baseUrl = o.baseUrl.replace(/\/+$/, "").replace(/\/v1$/, "");
    this.apiKey = o.apiKey ?? "";
    this.model = o.model ?? "";
    this.timeoutMs = o.timeoutMs ?? 10_000;
  }

  async complete(r: CompletionRequest): Promise<CompletionResult> {
    if (r.jsonPrefix === undefined) return this.completeOnce(r);
    try {
      return await this.completeOnce(r);
    } catch (err) {
      // Not a JSON prefix (a comment, a typo above the cursor), or a server without the field: unconstrained.
      if (!(err instanceof GlimpseError && err.status === 400 && err.param === "json_prefix")) throw err;
      return this.completeOnce({ ...r, jsonPrefix: undefined });
    }
  }

  private async completeOnce(r: CompletionRequest): Promise<CompletionResult> {
    const body: Record<string, unknown> = {
      prompt: r.prompt,
      suffix: r.suffix,
      max_tokens: r.maxTokens,
      // Greedy: the same context always gives the same suggestion, which is
      // what makes the cache and typed-through reuse sound.
      temperature: 0,
      stream: false,
    };
    if (r.stop && r.stop.length > 0) body.stop = r.stop.slice(0, 16);
    if (this.model) body.model = this.model;
    if (r.jsonPrefix !== undefined) body.json_prefix = r.jsonPrefix;
    const t0 = performance.now();
    const json = (await this.call("POST", "/v1/completions", body, r.signal)) as CompletionResponse;
    const latencyMs = performance.now() - t0;
    const choice = json?.choices?.[0];
    if (!choice || typeof choice.text !== "string") throw new GlimpseError("protocol", "completion response has no choices[0].text");
    const spec = json.metrics?.speculative_decoding;
    return {
      text: choice.text,
      finishReason: choice.finish_reason ?? null,
      completionTokens: json.usage?.completion_tokens ?? 0,
      jsonConstrained: r.jsonPrefix !== undefined,
      latencyMs,
      tokensPerSecond: json.metrics?.tokens_per_second ?? null,
      draftTokens: spec?.num_draft_tokens ?? 0,
      acceptedDraftTokens: spec?.num_accepted_tokens ?? 0,
    };
  }

  /** Adds or replaces a named document in the server's global suffix context. */
  async putDocument(name: string, text: string, signal?: AbortSignal): Promise<{ tokens: number }> {
    const json = (await this.call("POST", "/v1/suffix/documents", { name, text }, signal)) as { tokens?: number };
    return { tokens: json?.tokens ?? 0 };
  }

  /** Removes a named document; a document the server does not have is not an error. */
  async deleteDocument(name: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.call("DELETE", `/v1/suffix/documents/${encodeURIComponent(name)}`, undefined, signal);
    } catch (err) {
      if (!(err instanceof GlimpseError && err.status === 404)) throw err;
    }
  }

  /** GET /health: resolves when the server is up. */
  async health(signal?: AbortSignal): Promise<{ model?: string; speculative?: string | null }> {
    return (await this.call("GET", "/health", undefined, signal)) as { model?: string; speculative?: string | null };
  }

  private async call(method: string, path: string, body: unknown, signal?: AbortSignal): Promise<unknown> {
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
    const headers: Record<string, string> = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.apiKey) headers.authorization = `Bearer ${this.apiKey}`;
    let res: Response;
    try {
      res = await fetch(this.baseUrl + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: combined,
      });
    } catch (err) {
      throw classifyFetchError(err, signal, timeout, this.baseUrl);
    }
    let text: string;
    try {
      text = await res.text();
    } catch (err) {
      throw classifyFetchError(err, signal, timeout, this.baseUrl);
    }
    let json: unknown = undefined;
    try {
      json = text ? JSON.parse(text) : undefined;
    } catch {
      if (res.ok) throw new GlimpseError("protocol", `${method} ${path}: response is not JSON`);
    }
    if (!res.ok) {
      // OpenAI's error shape: { error: { message, type, param, code } }.
      const error = (json as { error?: { message?: string; param?: string | null } } | undefined)?.error;
      const message = error?.message ?? (text.slice(0, 200) || res.statusText);
      throw new GlimpseError("http", `${method} ${path}: HTTP ${res.status}: ${message}`, res.status, error?.param ?? undefined);
    }
    return json;
  }
}

interface CompletionResponse {
  choices?: { text?: string; finish_reason?: string | null }[];
  usage?: { completion_tokens?: number };
  metrics?: {
    tokens_per_second?: number;
    speculative_decoding?: { num_draft_tokens?: number; num_accepted_tokens?: number };
  };
}

function classifyFetchError(err: unknown, signal: AbortSignal | undefined, timeout: AbortSignal, url: string): GlimpseError {
  if (signal?.aborted) return new GlimpseError("aborted", "request cancelled");
  if (timeout.aborted) return new GlimpseError("timeout", `no answer from ${url} in time`);
  const cause = (err as { cause?: { code?: string; message?: string } })?.cause;
  const detail = cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
  return new GlimpseError("offline", `cannot reach the Glimpse server at ${url} (${detail})`);
}
