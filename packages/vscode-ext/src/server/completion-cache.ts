// Suggestions keyed by their context (the end of the text before the cursor,
// the start of the text after it, the language). Completions are greedy
// (temperature 0), so a context always gets the same suggestion: a hit is as
// good as a new request. Typed-through reuse: when the user types characters
// that a cached suggestion predicted, the rest of it is the suggestion for the
// new context, with no request.

const KEY_PREFIX_CHARS = 512;
const KEY_SUFFIX_CHARS = 256;

export interface CacheHit {
  text: string;
  /** "exact": same context; "typed-through": the user typed the first `typed` characters of a cached suggestion. */
  kind: "exact" | "typed-through";
  typed: number;
}

export class CompletionCache {
  private readonly entries = new Map<string, string>();

  constructor(
    private readonly capacity = 500,
    /** Longest typed-through run looked back over. */
    private readonly maxTyped = 256,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  static key(prefix: string, suffix: string, languageId: string): string {
    return `${languageId}\u0000${prefix.slice(-KEY_PREFIX_CHARS)}\u0000${suffix.slice(0, KEY_SUFFIX_CHARS)}`;
  }

  set(prefix: string, suffix: string, languageId: string, text: string): void {
    const key = CompletionCache.key(prefix, suffix, languageId);
    this.entries.delete(key);
    this.entries.set(key, text);
    while (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value as string);
  }

  get(prefix: string, suffix: string, languageId: string): CacheHit | undefined {
    const exact = this.touch(CompletionCache.key(prefix, suffix, languageId));
    if (exact !== undefined) return { text: exact, kind: "exact", typed: 0 };
    // Typed-through: was the context n characters ago cached with a suggestion that starts with those n characters?
    const limit = Math.min(this.maxTyped, prefix.length);
    for (let n = 1; n <= limit; n++) {
      const typed = prefix.slice(prefix.length - n);
      const earlier = this.entries.get(CompletionCache.key(prefix.slice(0, prefix.length - n), suffix, languageId));
      if (earlier === undefined || !earlier.startsWith(typed)) continue;
      const rest = earlier.slice(n);
      if (!/\S/.test(rest)) continue; // fully typed: ask anew
      // Remember the new context directly, so the next keystroke is an exact hit.
      this.set(prefix, suffix, languageId, rest);
      return { text: rest, kind: "typed-through", typed: n };
    }
    return undefined;
  }

  clear(): void {
    this.entries.clear();
  }

  private touch(key: string): string | undefined {
    const v = this.entries.get(key);
    if (v !== undefined) {
      this.entries.delete(key);
      this.entries.set(key, v);
    }
    return v;
  }
}
