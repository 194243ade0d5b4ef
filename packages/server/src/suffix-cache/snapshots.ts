// Periodic snapshots of the global suffix cache, so a crash or kill -9 loses
// at most one interval of what the cache learnt. A snapshot whose content is
// unchanged since the last write is skipped; snapshots never overlap.

import { createHash } from "node:crypto";
import type { InferenceEngine } from "@glimpse/runtime-cuda";
import type { Logger } from "pino";
import { encodeCacheFile, writeCacheFile, type CacheIdentity } from "./file.js";

export class SuffixSnapshots {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private lastDigest = "";

  constructor(
    private readonly engine: InferenceEngine,
    private readonly file: string,
    private readonly identity: CacheIdentity,
    private readonly log: Logger,
  ) {}

  /** Snapshots every intervalMs (0: only at shutdown). */
  start(intervalMs: number): void {
    if (intervalMs <= 0) return;
    this.timer = setInterval(() => {
      if (!this.running) void this.save("periodic").catch((err) => this.log.warn({ err, file: this.file }, "suffix cache snapshot failed"));
    }, intervalMs);
    this.timer.unref(); // a pending snapshot never keeps the process alive
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** Writes a snapshot now (after any one in progress, so the last word is the newest state). */
  async save(reason: "periodic" | "shutdown"): Promise<void> {
    while (this.running) await this.running.catch(() => {});
    this.running = this.write(reason);
    try {
      await this.running;
    } finally {
      this.running = null;
    }
  }

  private async write(reason: string): Promise<void> {
    // A dead engine cannot export: the last snapshot on disk is what a restart loads.
    if (this.engine.failure) return;
    const state = await this.engine.exportSuffixState();
    const json = JSON.stringify(state);
    const digest = createHash("sha256").update(json).digest("hex");
    if (digest === this.lastDigest) return;
    const t0 = performance.now();
    await writeCacheFile(this.file, encodeCacheFile(this.identity, json));
    this.lastDigest = digest;
    this.log.info({ file: this.file, reason, documents: state.documents.length, responses: state.responses.length, ms: Math.round(performance.now() - t0) }, "suffix cache saved");
  }
}
