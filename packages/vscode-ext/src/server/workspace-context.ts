// Workspace-aware speculation: the text of open and recently edited documents
// goes to the Glimpse server's global suffix context
// (POST /v1/suffix/documents), so when a completion repeats code from the
// workspace, suffix decoding drafts it and the server verifies many tokens per
// step. Output is unchanged (speculation is lossless); only speed changes.

import { createHash } from "node:crypto";
import type { GlimpseClient } from "./glimpse-client.js";

export interface WorkspaceContextOptions {
  /** Push a changed document after it has been quiet this long. */
  syncDelayMs?: number;
  /** Most documents kept on the server (open ones first, then the most recently edited). */
  maxDocuments?: number;
  /** Longest text sent per document. */
  maxChars?: number;
}

interface Tracked {
  uri: string;
  open: boolean;
  lastActive: number;
  /** The change event LSP libraries fire right after an open carries nothing new. */
  justOpened?: boolean;
  /** Text not yet on the server (undefined: in sync). */
  pending?: () => string;
  timer?: NodeJS.Timeout;
  onServer: boolean;
}

export class WorkspaceContext {
  private readonly docs = new Map<string, Tracked>();
  private enabled = true;
  private readonly syncDelayMs: number;
  private readonly maxDocuments: number;
  private readonly maxChars: number;
  /** Pushes in progress (tests and shutdown wait for them). */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private client: () => GlimpseClient,
    options: WorkspaceContextOptions = {},
    private readonly onError: (err: unknown) => void = () => {},
  ) {
    this.syncDelayMs = options.syncDelayMs ?? 750;
    this.maxDocuments = options.maxDocuments ?? 24;
    this.maxChars = options.maxChars ?? 200_000;
  }

  /** Server-side name of a document: its URI, hashed when too long for the API's 256 characters. */
  static nameOf(uri: string): string {
    const name = `lsp:${uri}`;
    return name.length <= 256 ? name : `lsp:sha256:${createHash("sha256").update(uri).digest("hex")}`;
  }

  get documentCount(): number {
    let n = 0;
    for (const d of this.docs.values()) if (d.onServer) n++;
    return n;
  }

  setEnabled(enabled: boolean): void {
    if (this.enabled === enabled) return;
    this.enabled = enabled;
    if (!enabled) void this.clear();
    else for (const d of this.docs.values()) if (d.open) this.schedule(d, undefined, 0);
  }

  opened(uri: string, text: () => string): void {
    const d = this.entry(uri);
    d.open = true;
    d.justOpened = true;
    this.schedule(d, text, 0);
  }

  changed(uri: string, text: () => string): void {
    const d = this.entry(uri);
    if (d.justOpened) {
      d.justOpened = false;
      return;
    }
    this.schedule(d, text, this.syncDelayMs);
  }

  /** A closed document stays as "recently edited" until newer ones push it out. */
  closed(uri: string): void {
    const d = this.docs.get(uri);
    if (d) d.open = false;
  }

  /** Re-sends every document (after the server came back, or a new server URL). */
  resyncAll(text: (uri: string) => string | undefined): void {
    for (const d of this.docs.values()) {
      d.onServer = false;
      const t = text(d.uri);
      if (t !== undefined) this.schedule(d, () => t, 0);
    }
  }

  /** Resolves when all scheduled pushes have been sent (tests, benchmarks). */
  async flush(): Promise<void> {
    for (const d of this.docs.values()) {
      if (d.timer && d.pending) {
        clearTimeout(d.timer);
        d.timer = undefined;
        this.push(d);
      }
    }
    await Promise.allSettled([...this.inFlight]);
  }

  /** Removes this session's documents from the server (shutdown, or workspace context turned off). */
  async clear(): Promise<void> {
    const removals: Promise<void>[] = [];
    for (const d of this.docs.values()) {
      if (d.timer) clearTimeout(d.timer);
      d.timer = undefined;
      if (d.onServer) removals.push(this.client().deleteDocument(WorkspaceContext.nameOf(d.uri)).catch(this.onError));
      d.onServer = false;
    }
    await Promise.allSettled(removals);
  }

  private entry(uri: string): Tracked {
    let d = this.docs.get(uri);
    if (!d) {
      d = { uri, open: false, lastActive: Date.now(), onServer: false };
      this.docs.set(uri, d);
    }
    d.lastActive = Date.now();
    return d;
  }

  private schedule(d: Tracked, text: (() => string) | undefined, delay: number): void {
    if (text) d.pending = text;
    if (!this.enabled || !d.pending) return;
    if (d.timer) clearTimeout(d.timer);
    d.timer = setTimeout(() => {
      d.timer = undefined;
      this.push(d);
    }, delay);
    d.timer.unref?.();
  }

  private push(d: Tracked): void {
    const text = d.pending?.();
    d.pending = undefined;
    if (text === undefined || !this.enabled) return;
    const p = this.client()
      .putDocument(WorkspaceContext.nameOf(d.uri), text.length > this.maxChars ? text.slice(0, this.maxChars) : text)
      .then(() => {
        d.onServer = true;
      })
      .catch((err) => {
        // Offline or refused: keep the text so that the next resync sends it.
        this.onError(err);
      })
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
    void p.then(() => this.evict());
  }

  /** Keeps at most maxDocuments on the server: open documents first, then the most recently active. */
  private evict(): void {
    const on = [...this.docs.values()].filter((d) => d.onServer);
    if (on.length <= this.maxDocuments) return;
    on.sort((a, b) => Number(b.open) - Number(a.open) || b.lastActive - a.lastActive);
    for (const d of on.slice(this.maxDocuments)) {
      d.onServer = false;
      this.docs.delete(d.uri);
      void this.client().deleteDocument(WorkspaceContext.nameOf(d.uri)).catch(this.onError);
    }
  }
}
