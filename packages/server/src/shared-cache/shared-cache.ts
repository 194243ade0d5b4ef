// One suffix cache for many replicas, through a Redis Stream. Each replica
// appends what its global suffix tree learns (finished responses, documents)
// and applies the other replicas' entries to its own tree in the background.
// Redis is an accelerator, never a dependency of a request: publishing only
// queues, a lost connection leaves the local tree serving, and the client
// reconnects with backoff and resumes reading after the last id it applied.

import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import type { InferenceEngine, SuffixState } from "@glimpse/runtime-cuda";
import type { Logger } from "pino";
import { createClient } from "redis";
import { decodeEntry, encodeEntry, entryTime, type CacheOp } from "./entries.js";

export interface SharedCacheOptions {
  /** redis://[user:password@]host:port/db (rediss:// for TLS). */
  url: string;
  /** The stream's key (default `glimpse:suffix-cache:<served model name>`: token ids mean nothing across tokenizers). */
  stream: string;
  /** Entries the stream keeps (XADD MAXLEN ~): the size of one replica's suffix cache. */
  maxEntries: number;
  log: Logger;
  /** Longest wait between reconnection attempts (default 5000 ms). */
  maxBackoffMs?: number;
}

export type SharedCacheState = "connecting" | "connected" | "reconnecting" | "closed";

export interface SharedCacheStatus {
  state: SharedCacheState;
  replica_id: string;
  stream: string;
  /** Whether the stream has been read to its end once since start (the bootstrap). */
  bootstrapped: boolean;
  /** The last stream id applied (or skipped as this replica's own). */
  last_id: string;
  /** Age of the newest applied entry when it was applied: how far behind the other replicas this one ran. */
  lag_ms: number | null;
  published: number;
  consumed: number;
  /** Entries refused as malformed or foreign (another model's token ids, say). */
  rejected: number;
  /** Entries waiting to be written (Redis unreachable). */
  pending: number;
  /** Entries dropped from a full queue during a long outage. */
  dropped: number;
}

type Client = ReturnType<typeof createClient>;
interface StreamReply { name: string; messages: { id: string; message: Record<string, string> }[] }

const READ_BATCH = 512; // entries per XREAD
const WRITE_BATCH = 64; // entries per MULTI/EXEC
const BLOCK_MS = 1000; // XREAD BLOCK: also how long close() may wait for the reader

export class SharedCache {
  readonly replicaId = `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`;
  private readonly writer: Client;
  private readonly reader: Client;
  private readonly outbox: Record<string, string>[] = [];
  private readonly maxPending: number;
  private closed = false;
  private everReady = false;
  private flushing = false;
  private shiftedInFlight = 0; // outbox entries dropped while a transaction that holds them runs
  private bootstrapped = false;
  private readonly bootstrapWaiters: (() => void)[] = [];
  private lastId = "0-0";
  private lagMs: number | null = null;
  private counts = { published: 0, consumed: 0, rejected: 0, dropped: 0 };
  private outage = false; // one warning per outage, not one per retry
  private consuming: Promise<void> = Promise.resolve();

  constructor(private readonly engine: InferenceEngine, private readonly options: SharedCacheOptions) {
    const maxBackoff = options.maxBackoffMs ?? 5000;
    this.maxPending = options.maxEntries;
    this.writer = createClient({
      url: options.url,
      // Exponential backoff with jitter, so replicas do not reconnect in lockstep after a Redis restart.
      socket: { connectTimeout: 2000, reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, maxBackoff) + Math.floor(Math.random() * 50) },
      // Fail fast while disconnected: the outbox keeps what must be retried, in order.
      disableOfflineQueue: true,
      pingInterval: 5000,
    });
    // XREAD BLOCK holds its connection, so reads get their own.
    this.reader = this.writer.duplicate();
    for (const c of [this.writer, this.reader]) {
      c.on("error", (err: Error) => this.onError(err));
      c.on("ready", () => this.onReady());
    }
  }

  /** Connects in the background (never rejects: an unreachable Redis is retried) and starts consuming. */
  start(): void {
    void this.writer.connect().catch(() => {});
    void this.reader.connect().catch(() => {});
    this.consuming = this.consume();
  }

  /** Resolves once the stream has been read to its end, or after `timeoutMs`, whichever is first; true if bootstrapped. */
  async waitBootstrap(timeoutMs: number): Promise<boolean> {
    if (this.bootstrapped) return true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      new Promise<void>((resolve) => this.bootstrapWaiters.push(resolve)),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
    return this.bootstrapped;
  }

  /** Queues an entry for the stream. Never throws and never waits: requests must not depend on Redis. */
  publish(op: CacheOp): void {
    if (this.closed) return;
    if ((op.kind === "response" || op.kind === "document") && op.tokens.length === 0) return;
    this.outbox.push(encodeEntry(this.replicaId, op));
    if (this.outbox.length > this.maxPending) {
      // The stream would trim the oldest entries anyway.
      this.outbox.shift();
      this.counts.dropped++;
      if (this.flushing) this.shiftedInFlight++;
    }
    void this.flush();
  }

  status(): SharedCacheStatus {
    const ready = this.writer.isReady && this.reader.isReady;
    const state: SharedCacheState = this.closed ? "closed" : ready ? "connected" : this.everReady ? "reconnecting" : "connecting";
    return {
      state, replica_id: this.replicaId, stream: this.options.stream, bootstrapped: this.bootstrapped,
      last_id: this.lastId, lag_ms: this.lagMs, ...this.counts, pending: this.outbox.length,
    };
  }

  /** Writes what is queued (waiting up to `flushTimeoutMs` for Redis), then disconnects. */
  async close(flushTimeoutMs = 2000): Promise<void> {
    if (this.closed) return;
    const end = Date.now() + flushTimeoutMs;
    while (this.outbox.length > 0 && Date.now() < end) {
      await this.flush();
      if (this.outbox.length > 0) await sleep(50);
    }
    if (this.outbox.length > 0) this.options.log.warn({ pending: this.outbox.length }, "shared cache: entries not written at shutdown");
    this.closed = true;
    this.reader.destroy(); // interrupts a blocked XREAD
    await this.consuming;
    if (this.writer.isOpen) await this.writer.close().catch(() => this.writer.destroy());
  }

  private onError(err: Error): void {
    if (this.closed) return;
    if (!this.outage) this.options.log.warn({ err: err.message, url: redactUrl(this.options.url) }, "shared cache: Redis unreachable; serving from the local suffix cache, reconnecting");
    this.outage = true;
  }

  private onReady(): void {
    if (!this.writer.isReady || !this.reader.isReady) return;
    if (this.outage || !this.everReady) this.options.log.info({ url: redactUrl(this.options.url), stream: this.options.stream, replica: this.replicaId }, "shared cache: connected");
    this.everReady = true;
    this.outage = false;
    void this.flush();
  }

  /** Writes the outbox in order, a transaction at a time (all of a batch or none: a retry does not duplicate). */
  private async flush(): Promise<void> {
    if (this.flushing) return;
    this.flushing = true;
    try {
      while (this.outbox.length > 0 && this.writer.isReady) {
        const batch = this.outbox.slice(0, WRITE_BATCH);
        this.shiftedInFlight = 0;
        const tx = this.writer.multi();
        for (const fields of batch) {
          tx.xAdd(this.options.stream, "*", fields, { TRIM: { strategy: "MAXLEN", strategyModifier: "~", threshold: this.options.maxEntries } });
        }
        await tx.exec();
        // Entries of this batch dropped from the front meanwhile are gone already.
        this.outbox.splice(0, Math.max(0, batch.length - this.shiftedInFlight));
        this.counts.published += batch.length;
      }
    } catch (err) {
      this.onError(err as Error); // kept in the outbox; flushed again on 'ready'
    } finally {
      this.flushing = false;
    }
  }

  /** Reads the stream from the start (the bootstrap), then follows it; applies other replicas' entries in order. */
  private async consume(): Promise<void> {
    while (!this.closed) {
      if (!this.reader.isReady) {
        await sleep(50);
        continue;
      }
      let reply: StreamReply[] | null;
      try {
        // The bootstrap reads without blocking, so an empty stream ends it at once.
        const block = this.bootstrapped ? { BLOCK: BLOCK_MS } : {};
        reply = (await this.reader.xRead({ key: this.options.stream, id: this.lastId }, { ...block, COUNT: READ_BATCH })) as StreamReply[] | null;
      } catch (err) {
        if (!this.closed) this.onError(err as Error);
        await sleep(100);
        continue;
      }
      const messages = reply?.[0]?.messages ?? [];
      const ops: CacheOp[] = [];
      for (const m of messages) {
        this.lastId = m.id;
        if (m.message.r === this.replicaId) continue;
        const op = decodeEntry(m.message, this.engine.config.vocabSize);
        if ("error" in op) {
          if (this.counts.rejected++ === 0) this.options.log.warn({ id: m.id, reason: op.error }, "shared cache: entry refused");
          continue;
        }
        ops.push(op);
      }
      if (ops.length > 0) {
        try {
          await this.apply(ops);
          this.counts.consumed += ops.length;
          this.lagMs = Math.max(0, Date.now() - entryTime(this.lastId));
        } catch (err) {
          this.options.log.error({ err }, "shared cache: could not apply entries to the suffix cache");
        }
      }
      if (messages.length < READ_BATCH && !this.bootstrapped) {
        this.bootstrapped = true;
        for (const wake of this.bootstrapWaiters.splice(0)) wake();
      }
    }
  }

  /** Applies operations in stream order; consecutive responses and documents go in one engine call. */
  private async apply(ops: CacheOp[]): Promise<void> {
    let i = 0;
    while (i < ops.length) {
      const op = ops[i];
      if (op.kind === "remove") {
        await this.engine.removeDocument(op.name);
        i++;
      } else if (op.kind === "clear") {
        await this.engine.clearDocuments();
        i++;
      } else {
        // importSuffixState adds responses first, then documents: a run of each keeps the order.
        const state: SuffixState = { responses: [], documents: [] };
        for (let o = ops[i]; i < ops.length && o.kind === "response"; o = ops[++i]) state.responses.push(o.tokens);
        for (let o = ops[i]; i < ops.length && o.kind === "document"; o = ops[++i]) state.documents.push({ name: o.name, tokens: o.tokens });
        await this.engine.importSuffixState(state);
      }
    }
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The URL without its password, for logs. */
function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(invalid url)";
  }
}
