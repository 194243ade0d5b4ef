// The KV cache of a batch of requests, in the graph's own layout:
// [rows, kvHeads, length, headDim] per layer.
//
// Positions are never copied out when a draft is rejected: each (row,
// position) carries a validity flag, and invalid positions (rejected draft
// tokens, padding) are masked out of attention. So a step whose drafts were
// all accepted, or all rejected, costs no cache copy at all. Holes are
// squeezed out when rows are regrouped (a request joins or leaves) or when
// they would make up most of the cache.

export interface KvShape {
  numLayers: number;
  numKvHeads: number;
  headDim: number;
}

export class BatchKvCache {
  /** Per row: 1 where the position holds a real token of that row's sequence. */
  readonly valid: Uint8Array[];
  readonly validCount: number[];

  constructor(
    readonly shape: KvShape,
    readonly rows: number,
    readonly length: number,
    readonly keys: Float32Array[],
    readonly values: Float32Array[],
    valid: Uint8Array[],
  ) {
    this.valid = valid;
    this.validCount = valid.map((v) => {
      let n = 0;
      for (let i = 0; i < length; i++) n += v[i];
      return n;
    });
  }

  static empty(shape: KvShape, rows: number): BatchKvCache {
    const layers = () => Array.from({ length: shape.numLayers }, () => new Float32Array(0));
    return new BatchKvCache(shape, rows, 0, layers(), layers(), Array.from({ length: rows }, () => new Uint8Array(0)));
  }

  /** The cache after a step: the graph's present.* outputs plus the flags of the step's new positions. */
  extended(presentKeys: Float32Array[], presentValues: Float32Array[], newFlags: Uint8Array[]): BatchKvCache {
    const added = newFlags[0]?.length ?? 0;
    const length = this.length + added;
    const valid = this.valid.map((old, r) => {
      const v = new Uint8Array(length);
      v.set(old.subarray(0, this.length));
      v.set(newFlags[r], this.length);
      return v;
    });
    return new BatchKvCache(this.shape, this.rows, length, presentKeys, presentValues, valid);
  }

  /**
   * Share of the length that gathering would remove: positions beyond the
   * longest row's real tokens. (Left padding of shorter rows stays, so it
   * does not count.)
   */
  squeezableRatio(): number {
    if (this.length === 0 || this.rows === 0) return 0;
    return 1 - Math.max(...this.validCount) / this.length;
  }

  /**
   * A new cache holding the given rows (of this or other caches) with their
   * holes squeezed out, left-padded to the longest.
   */
  static gather(shape: KvShape, sources: { cache: BatchKvCache; row: number }[]): BatchKvCache {
    const rows = sources.length;
    let length = 0;
    for (const s of sources) length = Math.max(length, s.cache.validCount[s.row]);
    const { numLayers, numKvHeads: heads, headDim: hd } = shape;
    const keys: Float32Array[] = [];
    const values: Float32Array[] = [];
    for (let l = 0; l < numLayers; l++) {
      keys.push(new Float32Array(rows * heads * length * hd));
      values.push(new Float32Array(rows * heads * length * hd));
    }
    const valid: Uint8Array[] = [];
    sources.forEach((s, r) => {
      const src = s.cache;
      const flags = src.valid[s.row];
      const pad = length - src.validCount[s.row];
      const v = new Uint8Array(length);
      v.fill(1, pad);
      valid.push(v);
      // Copy runs of consecutive valid positions at once.
      const runs: [number, number][] = [];
      for (let p = 0; p < src.length; ) {
        if (!flags[p]) { p++; continue; }
        const start = p;
        while (p < src.length && flags[p]) p++;
        runs.push([start, p]);
      }
      for (let l = 0; l < numLayers; l++) {
        for (const [from, to] of [[src.keys[l], keys[l]], [src.values[l], values[l]]] as const) {
          for (let h = 0; h < heads; h++) {
            const srcBase = ((s.row * heads + h) * src.length) * hd;
            let dst = ((r * heads + h) * length + pad) * hd;
            for (const [a, b] of runs) {
              to.set(from.subarray(srcBase + a * hd, srcBase + b * hd), dst);
              dst += (b - a) * hd;
            }
          }
        }
      }
    });
    return new BatchKvCache(shape, rows, length, keys, values, valid);
  }
}
