// Token masks as XGrammar writes them: one bit per token id, 32 ids per
// Int32 word (id i is bit i % 32 of word i / 32), 1 = allowed. Applying one
// to a row of logits works a word at a time: an all-ones word (everything
// allowed, the common case inside strings) costs one comparison, an
// all-zeros word one native fill, and a mixed word a loop over its
// disallowed bits alone; there is no JavaScript loop over the vocabulary.

/**
 * What the rejection sampler asks of a constrained request while it walks a
 * step's draft: the grammar follows the walk, one verified token at a time.
 */
export interface GrammarWalk {
  /** Takes `token` at the walk's position if the grammar allows it there (the walk then moves past it). */
  tryAdvance(token: number): boolean;
  /** The tokens the grammar allows at the walk's position (null: none constrained, as after a stop token). */
  mask(): Int32Array | null;
  /** Moves the walk past a token drawn under the mask. */
  advance(token: number): void;
}

/** Words in a mask over `vocabSize` ids. */
export function maskWords(vocabSize: number): number {
  return Math.ceil(vocabSize / 32);
}

/**
 * Sets the logits of disallowed tokens to -Infinity in
 * logits[offset .. offset + vocabSize). Returns whether any token is allowed.
 */
export function applyTokenMask(logits: Float32Array, offset: number, vocabSize: number, mask: Int32Array): boolean {
  const words = maskWords(vocabSize);
  let any = false;
  for (let w = 0; w < words; w++) {
    const base = offset + 32 * w;
    const n = Math.min(32, vocabSize - 32 * w);
    // Bits past the vocabulary (last word) count as disallowed, and are not ours to write.
    const valid = n === 32 ? -1 : (1 << n) - 1;
    const bits = mask[w] & valid;
    if (bits === valid) {
      any = true;
      continue;
    }
    if (bits === 0) {
      logits.fill(-Infinity, base, base + n);
      continue;
    }
    any = true;
    for (let off = ~bits & valid; off !== 0; off &= off - 1) logits[base + 31 - Math.clz32(off & -off)] = -Infinity;
  }
  return any;
}

/** A mask with the given ids set. */
export function idMask(ids: readonly number[], vocabSize: number): Int32Array {
  const m = new Int32Array(maskWords(vocabSize));
  for (const id of ids) if (id >= 0 && id < vocabSize) m[id >>> 5] |= 1 << (id & 31);
  return m;
}

/** Whether a mask allows nothing but tokens of `stops` (or nothing at all): the grammar is complete. */
export function onlyStopsAllowed(mask: Int32Array, stops: Int32Array, vocabSize: number): boolean {
  const words = maskWords(vocabSize);
  for (let w = 0; w < words; w++) {
    const n = Math.min(32, vocabSize - 32 * w);
    const valid = n === 32 ? -1 : (1 << n) - 1;
    if ((mask[w] & ~stops[w] & valid) !== 0) return false;
  }
  return true;
}

/** Whether a mask allows `token`. */
export function allows(mask: Int32Array, token: number): boolean {
  return ((mask[token >>> 5] >>> (token & 31)) & 1) === 1;
}
