// Compiled grammars by the canonical text of their constraint: compiling a
// JSON schema takes tens of milliseconds (more at large vocabularies), and a
// client sends the same schema with request after request. Bounded, least
// recently used out; failures are kept too, so a bad schema sent again is
// answered without compiling it again.

/** Entries kept by default. */
export const COMPILED_CACHE_SIZE = 64;

export class CompiledCache<T> {
  private readonly entries = new Map<string, Promise<T>>();

  /** `release` frees an evicted value (a compiled grammar's wasm memory; matchers made from it keep their own reference). */
  constructor(readonly capacity = COMPILED_CACHE_SIZE, private readonly release: (value: T) => void = () => {}) {}

  get size(): number {
    return this.entries.size;
  }

  /** The value for `key`: cached (and marked recent), or made by `make` and cached (a rejection too). */
  get(key: string, make: () => Promise<T>): Promise<T> {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key);
      this.entries.set(key, hit);
      return hit;
    }
    const value = make();
    value.catch(() => {}); // callers see the rejection; the cache only keeps it
    this.entries.set(key, value);
    while (this.entries.size > this.capacity) {
      const [oldest, evicted] = this.entries.entries().next().value as [string, Promise<T>];
      this.entries.delete(oldest);
      evicted.then(this.release, () => {});
    }
    return value;
  }

  /** Drops every entry; `release`: their values are released (not when they live in memory that is no longer safe to touch). */
  clear(release = true): void {
    if (release) for (const v of this.entries.values()) v.then(this.release, () => {});
    this.entries.clear();
  }
}
