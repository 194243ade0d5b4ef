// The one builder of a forward pass's inputs: token ids, positions and the
// attention mask, for a batch of rows whose step inputs are laid out as
// chains or trees (see draft-layout.ts) over a batch KV cache. A prompt is a
// chain over an empty cache, a plain decoding step a chain of one token.

import { chainLayout, type StepLayout } from "./draft-layout.js";

/** Additive mask value for positions a query must not attend to. */
export const MASKED = -1e9;

export interface StepRow {
  layout: StepLayout;
  /** Tokens of this row already in the KV cache: the position of its input 0. */
  cachedLength: number;
}

/** The cache as far as inputs are concerned: its width and which positions of each row hold real tokens. */
export interface CacheView {
  width: number;
  valid: readonly Uint8Array[];
}

export interface StepInputs {
  rows: number;
  /** Inputs per row (the longest row's; shorter rows are padded). */
  width: number;
  ids: BigInt64Array;
  positions: BigInt64Array;
  /** int64 [rows, past + width] for 2-D graphs; float32 [rows, 1, width, past + width] for 4-D graphs. */
  mask: BigInt64Array | Float32Array;
}

/**
 * Builds the inputs of one forward pass. A 2-D mask can only express chains
 * (each input attends to every earlier one), so rows must be chains there; a
 * 4-D mask lets each input attend to the cache and its own ancestors only.
 * Padding inputs attend to themselves alone, never to nothing.
 */
export function buildStepInputs(rows: readonly StepRow[], cache: CacheView, maskRank: 2 | 4, padTokenId: number): StepInputs {
  const R = rows.length;
  const s = Math.max(...rows.map((r) => r.layout.tokens.length));
  const P = cache.width;
  const total = P + s;
  // int64 tensors are filled through 32-bit views (low words; values are
  // small and non-negative): far cheaper than creating BigInts one by one.
  const ids = new BigInt64Array(R * s);
  const positions = new BigInt64Array(R * s);
  const ids32 = new Int32Array(ids.buffer);
  const pos32 = new Int32Array(positions.buffer);
  const mask2 = maskRank === 2 ? new BigInt64Array(R * total) : null;
  const mask32 = mask2 ? new Int32Array(mask2.buffer) : null;
  const mask4 = maskRank === 4 ? new Float32Array(R * s * total).fill(MASKED) : null;
  rows.forEach((row, i) => {
    const lay = row.layout;
    const n = lay.tokens.length;
    for (let j = 0; j < s; j++) {
      const real = j < n;
      ids32[2 * (i * s + j)] = real ? lay.tokens[j] : padTokenId;
      pos32[2 * (i * s + j)] = row.cachedLength + (real ? lay.depth[j] : 0);
    }
    const valid = cache.valid[i];
    if (mask32) {
      const rowBase = i * total;
      for (let p = 0; p < P; p++) mask32[2 * (rowBase + p)] = valid[p];
      for (let j = 0; j < n; j++) mask32[2 * (rowBase + P + j)] = 1;
      return;
    }
    for (let j = 0; j < s; j++) {
      const rowBase = (i * s + j) * total;
      for (let p = 0; p < P; p++) if (valid[p]) mask4![rowBase + p] = 0;
      if (j >= n) {
        mask4![rowBase + P + j] = 0;
        continue;
      }
      for (let a = j; a >= 0; a = lay.parent[a]) mask4![rowBase + P + a] = 0;
    }
  });
  return { rows: R, width: s, ids, positions, mask: (mask2 ?? mask4)! };
}

/** A whole prompt as one chain over an empty cache (the prefill pass). */
export function promptInputs(tokens: readonly number[], maskRank: 2 | 4): StepInputs {
  return buildStepInputs([{ layout: chainLayout(tokens), cachedLength: 0 }], { width: 0, valid: [new Uint8Array(0)] }, maskRank, 0);
}
