// Reading the shared traces (../shared/traces beside the repository clone, or
// GLIMPSE_SHARED_DIR) for the bench scripts.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

const repo = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../..");
export const SHARED_DIR = process.env.GLIMPSE_SHARED_DIR ?? resolve(repo, "../shared");

/** The first `limit` rows of a shared trace as { prompt, response } Int32Arrays. */
export function readTrace(trace, limit = Infinity) {
  return readFileSync(resolve(SHARED_DIR, "traces", `${trace}.jsonl`), "utf8")
    .split("\n").filter(Boolean).slice(0, limit)
    .map((l) => JSON.parse(l))
    .map((r) => ({ prompt: Int32Array.from(r.prompt_ids), response: Int32Array.from(r.response_ids) }));
}
