// Prompts of requests admitted together, run in the groups the backend
// chooses (onnxruntime: short prompts share padded passes; llama.cpp: all at
// once, one sequence each). A request that fails fails alone: a group whose
// call fails runs again one prompt at a time.

import type { DecoderBackend, PrefilledRow } from "../backend/decoder-backend.js";
import { logitsNeed } from "../sampling/rejection-sampler.js";
import type { RequestState } from "./request.js";

/** What prefilling the engine's requests needs from it. */
export interface PrefillHost {
  backend: DecoderBackend;
  /** Takes a prefilled request's state and first token. */
  begin(r: RequestState, row: PrefilledRow): void;
  fail(r: RequestState, err: unknown): void;
}

export async function prefillRequests(host: PrefillHost, requests: readonly RequestState[]): Promise<void> {
  const { backend } = host;
  for (const group of backend.prefillGroups(requests.map((r) => r.tokens.length))) {
    const rs = group.map((i) => requests[i]).filter((r) => !r.finishReason);
    if (rs.length === 0) continue;
    const t0 = performance.now();
    let rows: PrefilledRow[];
    try {
      rows = await backend.prefill(rs.map((r) => ({ tokens: r.tokens, need: logitsNeed(r) })));
    } catch (err) {
      if (rs.length === 1) host.fail(rs[0], err);
      else for (const r of rs) await prefillRequests(host, [r]);
      continue;
    }
    const ms = performance.now() - t0;
    rs.forEach((r, i) => {
      r.metrics.verifyMs += ms;
      r.cachedPromptTokens = rows[i].cachedTokens ?? 0;
      if (r.finishReason) return backend.release(rows[i].state, 0); // aborted while the prompt ran
      try {
        host.begin(r, rows[i]);
      } catch (err) {
        host.fail(r, err);
      }
    });
  }
}
