// `--suffix-cache-file` at start: check the path, load what the file holds
// (moving an unusable file aside with a warning), then snapshot periodically.

import type { InferenceEngine } from "@glimpse/runtime-cuda";
import type { Logger } from "pino";
import { checkCacheFileWritable, identityOf, loadCacheFile } from "./file.js";
import { SuffixSnapshots } from "./snapshots.js";

/** Default `--suffix-cache-interval`: what a crash can lose at most. */
export const DEFAULT_SNAPSHOT_INTERVAL_MS = 30_000;

export async function openSuffixCache(engine: InferenceEngine, file: string, intervalMs: number, log: Logger): Promise<SuffixSnapshots> {
  if (engine.suffixMemoryBytes() === null) throw new Error("--suffix-cache-file needs suffix decoding: method \"suffix\", or \"arctic\" with enable_suffix_decoding");
  await checkCacheFileWritable(file);
  const identity = identityOf(engine);
  const loaded = await loadCacheFile(engine, file, identity);
  if (loaded.outcome === "moved") {
    log.warn({ file, movedTo: loaded.movedTo, problem: loaded.problem }, "suffix cache file unusable: moved aside, starting with an empty cache");
  } else if (loaded.outcome === "loaded") {
    log.info({ file, documents: loaded.documents, responses: loaded.responses, legacy: loaded.legacy }, "suffix cache loaded");
  }
  const snapshots = new SuffixSnapshots(engine, file, identity, log);
  snapshots.start(intervalMs);
  return snapshots;
}
