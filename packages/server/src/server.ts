// Listening, graceful shutdown, and the persisted suffix cache.

import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { InferenceEngine } from "@glimpse/runtime-cuda";
import pino from "pino";
import { createApp, type AppOptions } from "./app.js";
import type { AppContext } from "./context.js";
import { attachSharedCache, type SharedCacheConfig } from "./shared-cache/attach.js";
import { DEFAULT_SNAPSHOT_INTERVAL_MS, openSuffixCache } from "./suffix-cache/open.js";

export interface ServeOptions extends AppOptions {
  host?: string;
  port?: number;
  /** Load the global suffix cache from this file at start, snapshot it periodically and at shutdown. */
  suffixCacheFile?: string;
  /** Milliseconds between snapshots of the suffix cache file (default 30 s; 0: only at shutdown). */
  suffixCacheIntervalMs?: number;
  /** How long shutdown waits for in-flight requests before cutting them (default 30 s). */
  shutdownTimeoutMs?: number;
  /** Share the global suffix cache with other replicas through a Redis Stream (`--shared-cache`). */
  sharedCache?: SharedCacheConfig;
}

export interface RunningServer {
  url: string;
  server: Server;
  ctx: AppContext;
  /** Stops accepting, lets in-flight requests finish (up to the timeout), saves the suffix cache. The engine stays open. */
  close(): Promise<void>;
  /** During close(): stop waiting for in-flight requests now (a second signal); the cache is still saved. */
  cut(): void;
}

export async function serve(engine: InferenceEngine, options: ServeOptions = {}): Promise<RunningServer> {
  const cacheFile = options.suffixCacheFile;
  const log = options.logger ?? pino({ level: "silent" });
  const snapshots = cacheFile ? await openSuffixCache(engine, cacheFile, options.suffixCacheIntervalMs ?? DEFAULT_SNAPSHOT_INTERVAL_MS, log) : null;
  // The Host check (DNS rebinding) needs the address the server is bound to.
  const { app, ctx } = createApp(engine, { ...options, logger: log, bindHost: options.host ?? "127.0.0.1" });
  if (options.sharedCache) await attachSharedCache(ctx, options.sharedCache);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(options.port ?? 8000, options.host ?? "127.0.0.1", (err?: Error) => (err ? reject(err) : resolve(s)));
  }).catch(async (err) => {
    snapshots?.stop();
    await ctx.sharedCache?.close(0);
    throw err;
  });
  const { address, port } = server.address() as AddressInfo;
  const url = `http://${address.includes(":") ? `[${address}]` : address}:${port}`;
  let closing: Promise<void> | null = null;
  let cutNow: (() => void) | null = null;
  const cutRequested = new Promise<boolean>((resolve) => (cutNow = () => resolve(true)));
  const close = () => (closing ??= (async () => {
    ctx.draining = true;
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const timeout = options.shutdownTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      ctx.limiter.idle().then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeout))),
      cutRequested,
    ]);
    clearTimeout(timer);
    if (timedOut) ctx.log.warn({ inFlight: ctx.limiter.inFlight, timeoutMs: timeout }, "shutdown: cutting in-flight requests");
    // Cut what is left (streams whose clients are gone abort their generations).
    server.closeAllConnections();
    await stopped;
    await ctx.tokenizers.close();
    await ctx.sharedCache?.close(); // writes what finished requests queued
    snapshots?.stop();
    await snapshots?.save("shutdown");
  })());
  return { url, server, ctx, close, cut: () => cutNow?.() };
}
