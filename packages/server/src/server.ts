// Listening, graceful shutdown, and the persisted suffix cache.

import { existsSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { InferenceEngine, SuffixState } from "@glimpse/runtime-cuda";
import { createApp, type AppOptions } from "./app.js";
import type { AppContext } from "./context.js";
import { attachSharedCache, type SharedCacheConfig } from "./shared-cache/attach.js";

export interface ServeOptions extends AppOptions {
  host?: string;
  port?: number;
  /** Load the global suffix cache from this file at start, save it at shutdown. */
  suffixCacheFile?: string;
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
}

export async function serve(engine: InferenceEngine, options: ServeOptions = {}): Promise<RunningServer> {
  const cacheFile = options.suffixCacheFile;
  if (cacheFile) await loadSuffixCache(engine, cacheFile);
  const { app, ctx } = createApp(engine, options);
  if (options.sharedCache) await attachSharedCache(ctx, options.sharedCache);
  const server = await new Promise<Server>((resolve, reject) => {
    const s = app.listen(options.port ?? 8000, options.host ?? "127.0.0.1", (err?: Error) => (err ? reject(err) : resolve(s)));
  }).catch(async (err) => {
    await ctx.sharedCache?.close(0);
    throw err;
  });
  const { address, port } = server.address() as AddressInfo;
  const url = `http://${address.includes(":") ? `[${address}]` : address}:${port}`;
  let closing: Promise<void> | null = null;
  const close = () => (closing ??= (async () => {
    ctx.draining = true;
    const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    const timeout = options.shutdownTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = await Promise.race([
      ctx.limiter.idle().then(() => false),
      new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), timeout))),
    ]);
    clearTimeout(timer);
    if (timedOut) ctx.log.warn({ inFlight: ctx.limiter.inFlight, timeoutMs: timeout }, "shutdown timeout: cutting in-flight requests");
    // Cut what is left (streams whose clients are gone abort their generations).
    server.closeAllConnections();
    await stopped;
    await ctx.sharedCache?.close(); // writes what finished requests queued
    if (cacheFile) await saveSuffixCache(engine, cacheFile, ctx);
  })());
  return { url, server, ctx, close };
}

async function loadSuffixCache(engine: InferenceEngine, file: string): Promise<void> {
  if (engine.suffixMemoryBytes() === null) throw new Error("--suffix-cache-file needs suffix decoding: method \"suffix\", or \"arctic\" with enable_suffix_decoding");
  if (!existsSync(file)) return;
  let state: SuffixState;
  try {
    state = JSON.parse(readFileSync(file, "utf8")) as SuffixState;
  } catch (err) {
    throw new Error(`suffix cache file ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(state?.documents) || !Array.isArray(state?.responses)) {
    throw new Error(`suffix cache file ${file} has no "documents" and "responses" arrays`);
  }
  await engine.importSuffixState(state);
}

async function saveSuffixCache(engine: InferenceEngine, file: string, ctx: AppContext): Promise<void> {
  // Write then rename: a crash mid-write leaves the previous file intact.
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(await engine.exportSuffixState()));
  renameSync(tmp, file);
  ctx.log.info({ file }, "suffix cache saved");
}
