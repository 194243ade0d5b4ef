// The shared cache on /metrics: whether Redis is connected, entries written
// and applied, and what waits. Values are read from the cache at scrape time,
// so the cache itself knows nothing of Prometheus.

import { Counter, Gauge, type Registry } from "prom-client";
import type { SharedCache, SharedCacheStatus } from "./shared-cache.js";

export function registerSharedCacheMetrics(registry: Registry, cache: SharedCache): void {
  const registers = [registry];
  const status = () => cache.status(); // a few fields copied: cheap per collector
  new Gauge({
    name: "glimpse:shared_cache_connected",
    help: "1 while both Redis connections of the shared suffix cache are up, else 0 (serving from the local cache).",
    registers,
    collect() {
      this.set(status().state === "connected" ? 1 : 0);
    },
  });
  const counter = (name: string, help: string, read: (s: SharedCacheStatus) => number) => {
    let seen = 0;
    new Counter({ name, help, registers, collect() {
      const v = read(status());
      this.inc(Math.max(0, v - seen));
      seen = Math.max(seen, v);
    } });
  };
  counter("glimpse:shared_cache_entries_published_total", "Entries (responses, documents) this replica wrote to the shared stream.", (s) => s.published);
  counter("glimpse:shared_cache_entries_consumed_total", "Other replicas' entries applied to this replica's suffix cache.", (s) => s.consumed);
  counter("glimpse:shared_cache_entries_rejected_total", "Stream entries refused as malformed or foreign.", (s) => s.rejected);
  counter("glimpse:shared_cache_entries_dropped_total", "Entries dropped from a full queue while Redis was unreachable.", (s) => s.dropped);
  new Gauge({ name: "glimpse:shared_cache_pending_entries", help: "Entries waiting to be written to Redis.", registers, collect() { this.set(status().pending); } });
  new Gauge({
    name: "glimpse:shared_cache_lag_seconds",
    help: "Age of the newest applied entry when it was applied (replication lag from the other replicas).",
    registers,
    collect() { this.set((status().lag_ms ?? 0) / 1000); },
  });
}
