// Measured verify-cost curves kept on disk, so a large model pays for the
// measurement once per model file, machine, thread count and batch size
// rather than at every load (tens of seconds at the 0.5B shape).
//
// Folder: $GLIMPSE_CACHE_DIR, else $XDG_CACHE_HOME/glimpse, else
// ~/.cache/glimpse. A missing, unreadable or stale entry reads as none;
// failing to write one is not an error.

import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { cpus, homedir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { readdirSync } from "node:fs";

/** What the curve was measured on: any change makes a different entry. */
export interface CostKey {
  graph: string;
  /** Size and modification time of the graph and its external data files. */
  files: string;
  cpu: string;
  cores: number;
  threads: number;
  batch: number;
  provider: string;
}

/** The timings measureBatchCost takes (ms). */
export interface CostTimings {
  /** Draft lengths timed at batch 1, and their times. */
  oneKs: number[];
  oneMs: number[];
  /** Draft lengths timed at `batch` rows, and their times (empty at batch 1). */
  batchKs: number[];
  batchMs: number[];
}

const VERSION = 1;

export function costCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.GLIMPSE_CACHE_DIR) return resolve(env.GLIMPSE_CACHE_DIR);
  return join(env.XDG_CACHE_HOME ? resolve(env.XDG_CACHE_HOME) : join(homedir(), ".cache"), "glimpse");
}

export function costKey(graph: string, threads: number, batch: number, provider: string): CostKey {
  const file = resolve(graph);
  const dir = dirname(file);
  const names = [basename(file), ...safeList(dir).filter((f) => f.startsWith(`${basename(file)}_data`)).sort()];
  const files = names.map((n) => {
    const st = statSync(join(dir, n));
    return `${n}:${st.size}:${Math.round(st.mtimeMs)}`;
  }).join(",");
  const c = cpus();
  return { graph: file, files, cpu: c[0]?.model ?? "unknown", cores: c.length, threads, batch, provider };
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function entryPath(key: CostKey, dir: string): string {
  const hash = createHash("sha256").update(JSON.stringify([VERSION, key])).digest("hex").slice(0, 24);
  return join(dir, `verify-cost-${hash}.json`);
}

function isNumbers(x: unknown): x is number[] {
  return Array.isArray(x) && x.every((v) => typeof v === "number" && Number.isFinite(v) && v >= 0);
}

export function readCostCache(key: CostKey, dir = costCacheDir()): CostTimings | null {
  const path = entryPath(key, dir);
  if (!existsSync(path)) return null;
  try {
    const e = JSON.parse(readFileSync(path, "utf8")) as { version?: number; key?: CostKey; timings?: CostTimings };
    if (e.version !== VERSION || JSON.stringify(e.key) !== JSON.stringify(key)) return null;
    const t = e.timings;
    if (!t || !isNumbers(t.oneKs) || !isNumbers(t.oneMs) || !isNumbers(t.batchKs) || !isNumbers(t.batchMs)) return null;
    if (t.oneKs.length !== t.oneMs.length || t.batchKs.length !== t.batchMs.length || t.oneKs[0] !== 0 || !(t.oneMs[0] > 0)) return null;
    return t;
  } catch {
    return null;
  }
}

/** Writes an entry (atomically: a reader never sees half of one); returns whether it was written. */
export function writeCostCache(key: CostKey, timings: CostTimings, dir = costCacheDir()): boolean {
  try {
    mkdirSync(dir, { recursive: true });
    const path = entryPath(key, dir);
    const tmp = `${path}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify({ version: VERSION, key, timings, measuredAt: new Date().toISOString() }));
    renameSync(tmp, path);
    return true;
  } catch {
    return false;
  }
}
