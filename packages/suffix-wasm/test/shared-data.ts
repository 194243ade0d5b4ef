// Locating ../shared (the read-only folder beside the repository clone) and
// reading its traces and reference drafts.
import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { resolve } from "node:path";
import type { SimulationConfig, TraceRow } from "../src/simulator.js";

const repoRoot = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../..");

export const SHARED_DIR = process.env.GLIMPSE_SHARED_DIR ?? resolve(repoRoot, "../shared");

export function sharedPath(...parts: string[]): string {
  const p = resolve(SHARED_DIR, ...parts);
  if (!existsSync(p)) {
    throw new Error(`missing ${p}: the tests need the shared data folder beside the clone (or set GLIMPSE_SHARED_DIR)`);
  }
  return p;
}

export function readJsonl<T>(path: string, limit = Infinity): T[] {
  const out: T[] = [];
  for (const line of readFileSync(path, "utf8").split("\n")) {
    if (line.trim() === "") continue;
    if (out.length >= limit) break;
    out.push(JSON.parse(line) as T);
  }
  return out;
}

export function readTrace(name: string, limit = Infinity): TraceRow[] {
  return readJsonl<{ prompt_ids: number[]; response_ids: number[] }>(sharedPath("traces", `${name}.jsonl`), limit).map(
    (r) => ({ prompt: Int32Array.from(r.prompt_ids), response: Int32Array.from(r.response_ids) }),
  );
}

/** ArcticInference's config of a golden summary, as the simulator takes it (0 spec tokens means the depth). */
export function goldenSimulationConfig(c: {
  max_depth: number; max_spec_tokens: number; max_spec_factor: number; max_spec_offset: number;
  min_token_prob: number; use_tree_spec: boolean; max_cached_requests: number;
}): SimulationConfig {
  return {
    maxDepth: c.max_depth,
    maxSpecTokens: c.max_spec_tokens === 0 ? c.max_depth : c.max_spec_tokens,
    maxSpecFactor: c.max_spec_factor,
    maxSpecOffset: c.max_spec_offset,
    minTokenProb: c.min_token_prob,
    useTreeSpec: c.use_tree_spec,
    maxCachedRequests: c.max_cached_requests,
  };
}
