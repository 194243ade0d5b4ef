// The KV cache of a batch of requests, in the graph's own layout:
// [rows, kvHeads, width, headDim] per layer, passed to the graph whole as
// its past.
//
// Positions are never copied out when a draft is rejected: each (row,
// position) carries a validity flag, and invalid positions (rejected draft
// tokens, padding, free room) are masked out of attention. So a step whose
// drafts were all accepted, or all rejected, costs no cache copy at all.
// Holes are squeezed out when rows are regrouped (a request joins or
// leaves) or when they would make up a few percent of the cache.
//
// Two kinds of graph feed it (see KvOutputs). With "append" graphs the
// buffers keep free room at the end and each step's new positions are
// written in place; with "full" graphs (Hugging Face's present = past + new)
// each step's outputs replace the buffers.

/** What a graph's KV outputs hold: the whole cache (`present.*`), or the new positions alone (`present_append.*`). */
export type KvOutputs = "full" | "append";

/** Element type of the cache: float16 caches hold raw half-precision bits (what onnxruntime-node gives and takes). */
export type KvType = "float32" | "float16";
export type KvArray = Float32Array | Uint16Array;

export interface KvShape {
  numLayers: number;
  numKvHeads: number;
  headDim: number;
  /** Default float32. */
  dtype?: KvType;
}

/** A zeroed buffer of the cache's element type (bits are copied as they are, never converted). */
export function kvBuffer(shape: KvShape, length: number): KvArray {
  return shape.dtype === "float16" ? new Uint16Array(length) : new Float32Array(length);
}

export class BatchKvCache {
  /** Per row, `width` flags: 1 where the position holds a real token of that row's sequence. */
  readonly valid: Uint8Array[];
  readonly validCount: number[];

  /**
   * @param width positions per row in the buffers: the past length the graph sees
   * @param length positions written so far (the rest, up to width, is free room)
   */
  constructor(
    readonly shape: KvShape,
    readonly rows: number,
    readonly width: number,
    public length: number,
    readonly keys: KvArray[],
    readonly values: KvArray[],
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
    const layers = () => Array.from({ length: shape.numLayers }, () => kvBuffer(shape, 0));
    return new BatchKvCache(shape, rows, 0, 0, layers(), layers(), Array.from({ length: rows }, () => new Uint8Array(0)));
  }

  /**
   * The cache after a step, given the graph's KV outputs and the validity
   * flags of the step's new positions (one array per row).
   *
   * "full": the outputs are the new buffers. "append": the outputs hold the
   * new positions alone ([rows, kvHeads, s, headDim]); they are written in
   * place, into buffers grown with `room` spare positions when they do not
   * fit. Returns this cache or its successor.
   */
  advance(kind: KvOutputs, keysOut: KvArray[], valuesOut: KvArray[], newFlags: Uint8Array[], room: number): BatchKvCache {
    const s = newFlags[0]?.length ?? 0;
    // A float16 output copied into a float32 buffer (or back) would be converted, not copied: refuse it.
    const want = this.shape.dtype === "float16" ? Uint16Array : Float32Array;
    if (keysOut.some((k) => !(k instanceof want)) || valuesOut.some((v) => !(v instanceof want))) {
      throw new Error(`KV outputs are not ${this.shape.dtype ?? "float32"} arrays (${keysOut[0]?.constructor.name})`);
    }
    if (kind === "full" || (this.width === 0 && room === 0)) {
      // The outputs already are the cache (past + new, or new alone after an empty past), without room.
      const width = this.width + s;
      const valid = this.valid.map((old, r) => {
        const v = new Uint8Array(width);
        v.set(old);
        v.set(newFlags[r], this.width);
        return v;
      });
      return new BatchKvCache(this.shape, this.rows, width, width, keysOut, valuesOut, valid);
    }
    const cache = this.length + s <= this.width ? this : this.regrown(this.length + s + room);
    cache.write(keysOut, valuesOut, newFlags);
    return cache;
  }

  /** Copies the step's new positions in at `length` (append graphs). */
  private write(keysOut: KvArray[], valuesOut: KvArray[], newFlags: Uint8Array[]): void {
    const s = newFlags[0].length;
    const { numLayers, numKvHeads: heads, headDim: hd } = this.shape;
    const run = s * hd;
    for (let l = 0; l < numLayers; l++) {
      for (const [from, to] of [[keysOut[l], this.keys[l]], [valuesOut[l], this.values[l]]] as const) {
        for (let rh = 0; rh < this.rows * heads; rh++) {
          to.set(from.subarray(rh * run, (rh + 1) * run), (rh * this.width + this.length) * hd);
        }
      }
    }
    newFlags.forEach((flags, r) => {
      this.valid[r].set(flags, this.length);
      for (let j = 0; j < s; j++) this.validCount[r] += flags[j];
    });
    this.length += s;
  }

  /** The same rows and positions in buffers `width` positions wide. */
  private regrown(width: number): BatchKvCache {
    return this.copied(this.length, width);
  }

  /** A copy of the first `n` written positions of every row, without free room (a cached prompt's head). */
  head(n: number): BatchKvCache {
    if (!Number.isInteger(n) || n < 0 || n > this.length) throw new Error(`head: ${n} is not within the ${this.length} written positions`);
    return this.copied(n, n);
  }

  /** The first `length` positions of every row, in new buffers `width` positions wide. */
  private copied(length: number, width: number): BatchKvCache {
    const { numLayers, numKvHeads: heads, headDim: hd } = this.shape;
    const used = length * hd;
    const grow = (src: KvArray) => {
      const dst = kvBuffer(this.shape, this.rows * heads * width * hd);
      for (let rh = 0; rh < this.rows * heads; rh++) dst.set(src.subarray(rh * this.width * hd, rh * this.width * hd + used), rh * width * hd);
      return dst;
    };
    const keys: KvArray[] = [];
    const values: KvArray[] = [];
    for (let l = 0; l < numLayers; l++) {
      keys.push(grow(this.keys[l]));
      values.push(grow(this.values[l]));
    }
    const valid = this.valid.map((old) => {
      const v = new Uint8Array(width);
      v.set(old.subarray(0, length));
      return v;
    });
    return new BatchKvCache(this.shape, this.rows, width, length, keys, values, valid);
  }

  /**
   * Share of the written length that gathering would remove: positions
   * beyond the longest row's real tokens. (Left padding of shorter rows
   * stays, so it does not count.)
   */
  squeezableRatio(): number {
    if (this.length === 0 || this.rows === 0) return 0;
    return 1 - Math.max(...this.validCount) / this.length;
  }

  /**
   * A new cache holding the given rows (of this or other caches) with their
   * holes squeezed out, left-padded to the longest, with `room` free
   * positions at the end.
   */
  static gather(shape: KvShape, sources: { cache: BatchKvCache; row: number }[], room: number): BatchKvCache {
    const rows = sources.length;
    let length = 0;
    for (const s of sources) length = Math.max(length, s.cache.validCount[s.row]);
    const width = length + room;
    const { numLayers, numKvHeads: heads, headDim: hd } = shape;
    const keys: KvArray[] = [];
    const values: KvArray[] = [];
    for (let l = 0; l < numLayers; l++) {
      keys.push(kvBuffer(shape, rows * heads * width * hd));
      values.push(kvBuffer(shape, rows * heads * width * hd));
    }
    const valid: Uint8Array[] = [];
    sources.forEach((s, r) => {
      const src = s.cache;
      const flags = src.valid[s.row];
      const pad = length - src.validCount[s.row];
      const v = new Uint8Array(width);
      v.fill(1, pad, length);
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
            const srcBase = ((s.row * heads + h) * src.width) * hd;
            let dst = ((r * heads + h) * width + pad) * hd;
            for (const [a, b] of runs) {
              to.set(from.subarray(srcBase + a * hd, srcBase + b * hd), dst);
              dst += (b - a) * hd;
            }
          }
        }
      }
    });
    return new BatchKvCache(shape, rows, width, length, keys, values, valid);
  }
}
