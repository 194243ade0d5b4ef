// `--shared-cache`: gives a server's context a SharedCache, bootstrapped from
// the stream before the server listens (unless Redis is unreachable: then the
// replica starts on its local cache and catches up once Redis answers).

import type { AppContext } from "../context.js";
import { registerSharedCacheMetrics } from "./metrics.js";
import { SharedCache } from "./shared-cache.js";

export interface SharedCacheConfig {
  url: string;
  /** Stream key (default `glimpse:suffix-cache:<served model name>`). */
  stream?: string;
  /** How long start-up waits to read the stream before serving anyway (default 10 s). */
  bootstrapTimeoutMs?: number;
}

// A suffix cache without a bound (suffix_cache_max_requests -1) still gets a bounded stream.
const UNBOUNDED_STREAM_ENTRIES = 100_000;

export async function attachSharedCache(ctx: AppContext, config: SharedCacheConfig): Promise<SharedCache> {
  const { engine } = ctx;
  if (!engine.hasSuffix) throw new Error("--shared-cache needs suffix decoding: method \"suffix\", or \"arctic\" with enable_suffix_decoding");
  if (!/^rediss?:\/\//.test(config.url)) throw new Error(`--shared-cache: expected redis://HOST:PORT/DB, got ${JSON.stringify(config.url)}`);
  const cacheSize = engine.speculative?.suffixMaxCachedRequests ?? -1;
  if (cacheSize === 0) throw new Error("--shared-cache needs a global suffix cache (suffix_cache_max_requests is 0)");
  const cache = new SharedCache(engine, {
    url: config.url,
    stream: config.stream ?? `glimpse:suffix-cache:${ctx.modelName}`,
    // The stream holds what one replica's cache holds: more would be evicted on arrival.
    maxEntries: cacheSize > 0 ? cacheSize : UNBOUNDED_STREAM_ENTRIES,
    log: ctx.log,
  });
  cache.start();
  if (!(await cache.waitBootstrap(config.bootstrapTimeoutMs ?? 10_000))) {
    ctx.log.warn({ state: cache.status().state }, "shared cache: stream not read at start; serving from the local cache and catching up in the background");
  }
  registerSharedCacheMetrics(ctx.metrics.registry, cache);
  ctx.sharedCache = cache;
  return cache;
}
