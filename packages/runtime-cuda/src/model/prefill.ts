// Prompts on the onnxruntime backend (backend/onnx-backend.ts). Short
// prompts admitted at once share forward passes, rows padded on the right to
// the longest of their group (padding is masked, and dropped from each
// request's cache afterwards). Prompts are grouped by length, so short
// prompts do not pay for a long one's width.
//
// Measured on 2 CPU cores (embedded model, 8 prompts): batching 8 x 16
// tokens halved the prefill time (50 -> 25 ms), 8 x 128 was level, and
// 8 x 512 was 30% slower with twice the peak memory (at ~170M parameters:
// 13.1 s one at a time, 15.0 s batched). A long prompt already keeps the
// cores busy, so only short ones are batched.
//
// A long prompt runs in passes, each attending to the cache the earlier ones
// left: attention's scores grow with a pass's length times the context it
// ends at, and at the 0.5B shape a 2048-token prompt in one pass peaked
// 400 MiB above a 1024-token one; in passes of 512 it added 560 MiB to the
// loaded model's RSS, of 256 420 MiB, of 128 320 MiB. Short passes
// everywhere cost prompts of a few hundred tokens (speculative decoding
// under concurrency fell from 2.05x to 1.49x plain with 256: docs/BENCHMARKS.md),
// so passes shrink only as the context grows: length x end <= 512 x 512
// (passLengths).

import { BatchKvCache } from "../kv/batch-kv-cache.js";
import { chainLayout } from "../verify/draft-layout.js";
import { buildStepInputs } from "../verify/step-inputs.js";
import type { ForwardPass } from "./forward.js";

/** Most padded positions (rows x width) in one prefill pass. */
export const PREFILL_TOKENS = 1024;
/** Prompts longer than this run alone. */
export const BATCHED_PROMPT_MAX = 128;
/** A prompt longer than this runs in passes of at most this many tokens, shorter as the context grows (passLengths). */
export const PREFILL_CHUNK = 512;
/** Most bytes of logits one prefill pass may return, for graphs that return every position's (no num_logits_to_keep). */
export const PREFILL_LOGIT_BYTES = 256 * 2 ** 20;
/** A prompt joins a group only while padding stays under this share of the group's positions. */
const MAX_PADDING = 0.25;

/**
 * Groups of prompt indices, each one pass: prompts sorted longest first,
 * a group closed when one more would pass `budget` padded positions or
 * `MAX_PADDING` of padding. A prompt longer than `alone` (or the budget)
 * runs alone.
 */
export function planPrefill(lengths: readonly number[], budget = PREFILL_TOKENS, alone = BATCHED_PROMPT_MAX): number[][] {
  const order = lengths.map((n, i) => [n, i]).sort((a, b) => b[0] - a[0] || a[1] - b[1]).map(([, i]) => i);
  const groups: number[][] = [];
  let group: number[] = [];
  let width = 0;
  let real = 0;
  for (const i of order) {
    const n = lengths[i];
    const rows = group.length + 1;
    const w = Math.max(width, n);
    if (group.length > 0 && (width > alone || n > alone || rows * w > budget || 1 - (real + n) / (rows * w) > MAX_PADDING)) {
      groups.push(group);
      [group, width, real] = [[], 0, 0];
    }
    group.push(i);
    width = Math.max(width, n);
    real += n;
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

export interface PrefillRow {
  /** The prompt's one-row cache (padding dropped). */
  cache: BatchKvCache;
  /** Offset of its last position's logits in `logits` (vocab floats from there). */
  logitsAt: number;
  /** Its last position's hidden state, when the graph outputs one. */
  hidden: Float32Array | null;
}

/**
 * One pass over several prompts (one row each, right-padded). Only the last
 * real position of each row is used, so graphs that can skip logits are
 * asked for the last (width - shortest + 1) positions alone.
 */
export async function prefillRows(forward: ForwardPass, prompts: readonly (readonly number[])[], padTokenId: number, hiddenSize: number, chunk = PREFILL_CHUNK): Promise<{ logits: Float32Array; rows: PrefillRow[] }> {
  if (prompts.length === 1 && prompts[0].length > chunk) return prefillChunked(forward, prompts[0], padTokenId, hiddenSize, chunk);
  const R = prompts.length;
  const empty = BatchKvCache.empty(forward.kvShape, R);
  const rows = prompts.map((p) => ({ layout: chainLayout(p), cachedLength: 0 }));
  const inputs = buildStepInputs(rows, empty, forward.layout.maskRank, padTokenId);
  const s = inputs.width;
  const shortest = Math.min(...prompts.map((p) => p.length));
  const out = await forward.run(inputs, empty, s - shortest + 1);
  const lw = out.logitsWidth;
  const flags = prompts.map((p) => {
    const f = new Uint8Array(s);
    f.fill(1, 0, p.length);
    return f;
  });
  const all = forward.advance(empty, out, flags, 0);
  const vocab = out.logits.length / (R * lw);
  return {
    logits: out.logits,
    rows: prompts.map((p, i) => {
      const at = i * lw + (p.length - 1 - (s - lw));
      return {
        cache: R === 1 ? all : BatchKvCache.gather(forward.kvShape, [{ cache: all, row: i }], 0),
        logitsAt: at * vocab,
        hidden: out.hidden ? out.hidden.slice(at * hiddenSize, (at + 1) * hiddenSize) : null,
      };
    }),
  };
}

/**
 * The passes of a prompt of `length` tokens whose first `from` are cached:
 * each as long as its length times the context it ends at stays within
 * chunk x chunk (the attention scores of one pass of `chunk` from an empty
 * cache), in multiples of chunk / 8, never shorter than that.
 */
export function passLengths(length: number, chunk: number, from = 0): number[] {
  const step = Math.max(1, Math.floor(chunk / 8));
  const passes: number[] = [];
  while (from < length) {
    // The longest n with n * (from + n) <= chunk^2.
    const fit = Math.floor((Math.sqrt(from * from + 4 * chunk * chunk) - from) / 2);
    const n = Math.min(length - from, chunk, Math.max(step, fit - (fit % step)));
    passes.push(n);
    from += n;
  }
  return passes;
}

/** Where a prompt's prefill starts: a one-row cache of its first `length` tokens (kv/prompt-cache.ts). */
export interface PrefillStart {
  cache: BatchKvCache;
  length: number;
}

/**
 * One prompt in passes (passLengths), after the cached positions of `start`
 * when given; only the last pass's last position gives logits.
 */
export async function prefillChunked(forward: ForwardPass, prompt: readonly number[], padTokenId: number, hiddenSize: number, chunk: number, start?: PrefillStart): Promise<{ logits: Float32Array; rows: PrefillRow[] }> {
  let cache = start?.cache ?? BatchKvCache.empty(forward.kvShape, 1);
  const first = start?.length ?? 0;
  const passes = passLengths(prompt.length, chunk, first);
  for (let p = 0, from = first; ; from += passes[p++]) {
    const part = prompt.slice(from, from + passes[p]);
    const inputs = buildStepInputs([{ layout: chainLayout(part), cachedLength: from }], cache, forward.layout.maskRank, padTokenId);
    const out = await forward.run(inputs, cache, 1);
    cache = forward.advance(cache, out, [new Uint8Array(part.length).fill(1)], 0);
    if (p + 1 < passes.length) continue;
    const at = out.logitsWidth - 1;
    const vocab = out.logits.length / out.logitsWidth;
    return { logits: out.logits, rows: [{ cache, logitsAt: at * vocab, hidden: out.hidden ? out.hidden.slice(at * hiddenSize, (at + 1) * hiddenSize) : null }] };
  }
}
