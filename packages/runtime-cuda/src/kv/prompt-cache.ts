// Prompts' KV caches kept after their prefill, so that a prompt which starts
// like a recent one computes only what differs. An editor asks again at
// every pause in typing with the same file up to the cursor: the prompt
// grows by a few tokens at the end, and without reuse each request would
// pay the whole prefill again (at the 0.5B shape on 2 cores, a 600-token
// prompt is over a second). Entries are one-row caches with every position
// valid, exactly as long as their prompt; they are never written to (a
// cache that grows is regrown into new buffers), so an entry shares its
// buffers with the request that made it. Least recently used entries go
// first when the byte budget is exceeded.

import type { BatchKvCache, KvShape } from "./batch-kv-cache.js";

/** Prompts sharing fewer tokens than this with every entry are prefilled from scratch (a short pass costs little). */
export const MIN_REUSED_TOKENS = 16;

interface Entry {
  tokens: readonly number[];
  cache: BatchKvCache;
  bytes: number;
}

/** A hit: the first `length` positions of a cached prompt equal the new prompt's. */
export interface PromptHit {
  /** A fresh one-row cache of those positions (the caller's to extend). */
  cache: BatchKvCache;
  length: number;
}

export class PromptCache {
  /** Most recently used last. */
  private readonly entries: Entry[] = [];
  private bytesHeld = 0;
  /** Prompt tokens whose KV came from the cache, and prompts that hit (metrics). */
  reusedTokens = 0;
  hits = 0;

  constructor(
    private readonly shape: KvShape,
    readonly budgetBytes: number,
  ) {}

  get bytes(): number {
    return this.bytesHeld;
  }

  get size(): number {
    return this.entries.length;
  }

  /** Bytes of one cached position: keys and values of every layer. */
  private positionBytes(): number {
    const { numLayers, numKvHeads, headDim, dtype } = this.shape;
    return 2 * numLayers * numKvHeads * headDim * (dtype === "float16" ? 2 : 4);
  }

  /**
   * The longest prefix of `prompt` some entry holds, leaving at least its
   * last token to compute (its logits are the request's first output).
   */
  lookup(prompt: readonly number[]): PromptHit | null {
    let best: Entry | null = null;
    let bestLength = 0;
    for (const e of this.entries) {
      const n = commonPrefix(e.tokens, prompt, prompt.length - 1);
      if (n > bestLength) [best, bestLength] = [e, n];
    }
    if (!best || bestLength < MIN_REUSED_TOKENS) return null;
    this.touch(best);
    this.hits++;
    this.reusedTokens += bestLength;
    return { cache: best.cache.head(bestLength), length: bestLength };
  }

  /** Keeps a prompt's one-row cache (all `tokens.length` positions valid); replaces an entry for the same prompt. */
  put(tokens: readonly number[], cache: BatchKvCache): void {
    if (cache.rows !== 1 || cache.length !== tokens.length || cache.validCount[0] !== tokens.length) return;
    const bytes = tokens.length * this.positionBytes();
    if (bytes > this.budgetBytes || tokens.length < MIN_REUSED_TOKENS) return;
    const same = this.entries.findIndex((e) => e.tokens.length === tokens.length && commonPrefix(e.tokens, tokens, tokens.length) === tokens.length);
    if (same >= 0) this.remove(same);
    this.entries.push({ tokens: [...tokens], cache, bytes });
    this.bytesHeld += bytes;
    while (this.bytesHeld > this.budgetBytes) this.remove(0);
  }

  clear(): void {
    this.entries.length = 0;
    this.bytesHeld = 0;
  }

  private touch(e: Entry): void {
    this.entries.splice(this.entries.indexOf(e), 1);
    this.entries.push(e);
  }

  private remove(i: number): void {
    this.bytesHeld -= this.entries[i].bytes;
    this.entries.splice(i, 1);
  }
}

/** How many leading tokens `a` and `b` share, at most `max`. */
export function commonPrefix(a: readonly number[], b: readonly number[], max: number): number {
  const n = Math.min(a.length, b.length, max);
  let i = 0;
  while (i < n && a[i] === b[i]) i++;
  return i;
}
