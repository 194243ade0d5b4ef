// BatchKvCache on small synthetic shapes. Every element of K and V encodes
// the token it belongs to, so a value in the wrong row, head or position
// shows; expected buffers are written out by hand or rebuilt by this file's
// own reference, never by the code under test.
import { describe, expect, it } from "vitest";
import { BatchKvCache, type KvOutputs, type KvShape } from "../src/kv/batch-kv-cache.js";

const shape: KvShape = { numLayers: 2, numKvHeads: 2, headDim: 3 };
const { numLayers: L, numKvHeads: H, headDim: D } = shape;

/** What a graph outputs for token `id` (ids from 1, so 0 means never written). */
const val = (id: number, layer: number, kv: number, head: number, d: number) => id * 1000 + layer * 100 + kv * 50 + head * 10 + d;

/** Per layer, [rows, heads, ids[r].length, headDim] buffers holding ids[r][p] (0: zeros). */
function tensors(ids: number[][]): { keys: Float32Array[]; values: Float32Array[] } {
  const s = ids[0]?.length ?? 0;
  const make = (layer: number, kv: number) => {
    const a = new Float32Array(ids.length * H * s * D);
    ids.forEach((row, r) => {
      for (let h = 0; h < H; h++) {
        for (let p = 0; p < s; p++) {
          for (let d = 0; d < D; d++) a[((r * H + h) * s + p) * D + d] = row[p] === 0 ? 0 : val(row[p], layer, kv, h, d);
        }
      }
    });
    return a;
  };
  const layers = Array.from({ length: L }, (_, l) => l);
  return { keys: layers.map((l) => make(l, 0)), values: layers.map((l) => make(l, 1)) };
}

const flags = (rows: number[][]) => rows.map((r) => Uint8Array.from(r));

function advance(c: BatchKvCache, kind: KvOutputs, ids: number[][], valid: number[][], room: number): BatchKvCache {
  const out = tensors(ids);
  return c.advance(kind, out.keys, out.values, flags(valid), room);
}

/** Checks every element: buffers as `ids` (each row `width` long), flags, counts. */
function expectCache(c: BatchKvCache, length: number, ids: number[][], valid: number[][]): void {
  expect(c.rows).toBe(ids.length);
  expect(c.length).toBe(length);
  for (const row of [...ids, ...valid]) expect(row).toHaveLength(c.width);
  const want = tensors(ids);
  for (let l = 0; l < L; l++) {
    expect(Array.from(c.keys[l]), `keys[${l}]`).toEqual(Array.from(want.keys[l]));
    expect(Array.from(c.values[l]), `values[${l}]`).toEqual(Array.from(want.values[l]));
  }
  expect(c.valid.map((v) => Array.from(v))).toEqual(valid);
  expect(c.validCount).toEqual(valid.map((v) => v.slice(0, length).reduce((a, b) => a + b, 0)));
}

describe("BatchKvCache.empty", () => {
  it("has no positions, one empty buffer per layer and no flags", () => {
    const c = BatchKvCache.empty(shape, 2);
    expect(c.rows).toBe(2);
    expect(c.width).toBe(0);
    expect(c.length).toBe(0);
    expect(c.keys.map((k) => k.length)).toEqual([0, 0]);
    expect(c.values.map((v) => v.length)).toEqual([0, 0]);
    expect(c.valid.map((v) => v.length)).toEqual([0, 0]);
    expect(c.validCount).toEqual([0, 0]);
    expect(c.squeezableRatio()).toBe(0);
    expect(BatchKvCache.empty(shape, 0).squeezableRatio()).toBe(0);
  });
});

describe("advance with full outputs (present = past + new)", () => {
  it("takes the outputs as the buffers and appends the step's flags; room is ignored", () => {
    // Row 1 is left-padded (91 is padding).
    const step1 = tensors([
      [1, 2, 3],
      [91, 11, 12],
    ]);
    const c1 = BatchKvCache.empty(shape, 2).advance("full", step1.keys, step1.values, flags([[1, 1, 1], [0, 1, 1]]), 5);
    expect(c1.width).toBe(3);
    expect(c1.keys[0]).toBe(step1.keys[0]);
    expect(c1.values[1]).toBe(step1.values[1]);
    expectCache(c1, 3, [[1, 2, 3], [91, 11, 12]], [[1, 1, 1], [0, 1, 1]]);

    // Draft tokens 5 and 14 are rejected: their positions stay, flagged invalid.
    const c2 = advance(c1, "full", [[1, 2, 3, 4, 5], [91, 11, 12, 13, 14]], [[1, 0], [1, 0]], 5);
    expectCache(c2, 5, [[1, 2, 3, 4, 5], [91, 11, 12, 13, 14]], [[1, 1, 1, 1, 0], [0, 1, 1, 1, 0]]);
    expect(c2.squeezableRatio()).toBeCloseTo(1 - 4 / 5, 12);
  });
});

describe("advance with append outputs (new positions only)", () => {
  it("after an empty past without room, the outputs are the cache", () => {
    const out = tensors([[1, 2]]);
    const c1 = BatchKvCache.empty(shape, 1).advance("append", out.keys, out.values, flags([[1, 1]]), 0);
    expect(c1.keys[1]).toBe(out.keys[1]);
    expectCache(c1, 2, [[1, 2]], [[1, 1]]);
    // No room left and none asked for: grows by exactly the step.
    const c2 = advance(c1, "append", [[3]], [[1]], 0);
    expectCache(c2, 3, [[1, 2, 3]], [[1, 1, 1]]);
  });

  it("writes in place while there is room, and regrows with `room` spare positions when there is not", () => {
    const empty = BatchKvCache.empty(shape, 2);
    // Prefill, row 1 left-padded: grown to 4 + 2 room.
    const c1 = advance(empty, "append", [[1, 2, 3, 4], [91, 11, 12, 13]], [[1, 1, 1, 1], [0, 1, 1, 1]], 2);
    expect(c1.width).toBe(6);
    expectCache(c1, 4, [[1, 2, 3, 4, 0, 0], [91, 11, 12, 13, 0, 0]], [[1, 1, 1, 1, 0, 0], [0, 1, 1, 1, 0, 0]]);
    expect(c1.squeezableRatio()).toBe(0);

    // Two positions fit the room exactly: same cache, written in place; 6 rejected.
    const c2 = advance(c1, "append", [[5, 6], [14, 15]], [[1, 0], [1, 1]], 2);
    expect(c2).toBe(c1);
    expectCache(c2, 6, [[1, 2, 3, 4, 5, 6], [91, 11, 12, 13, 14, 15]], [[1, 1, 1, 1, 1, 0], [0, 1, 1, 1, 1, 1]]);
    expect(c2.squeezableRatio()).toBeCloseTo(1 - 5 / 6, 12);

    // Three more do not fit: a new cache 6 + 3 + 2 wide, the old positions copied over.
    const c3 = advance(c2, "append", [[7, 8, 9], [16, 17, 18]], [[1, 1, 0], [0, 0, 0]], 2);
    expect(c3).not.toBe(c2);
    expect(c3.width).toBe(11);
    expectCache(
      c3,
      9,
      [
        [1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 0],
        [91, 11, 12, 13, 14, 15, 16, 17, 18, 0, 0],
      ],
      [
        [1, 1, 1, 1, 1, 0, 1, 1, 0, 0, 0],
        [0, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0],
      ],
    );
    // The longest row holds 7 real tokens of 9 written.
    expect(c3.squeezableRatio()).toBeCloseTo(2 / 9, 12);
    // The cache it grew from is left as it was.
    expect(c2.width).toBe(6);
    expect(c2.length).toBe(6);
  });
});

describe("BatchKvCache.gather", () => {
  function caches() {
    // A: two rows, append graphs, as in the test above.
    let a = advance(BatchKvCache.empty(shape, 2), "append", [[1, 2, 3, 4], [91, 11, 12, 13]], [[1, 1, 1, 1], [0, 1, 1, 1]], 2);
    a = advance(a, "append", [[5, 6], [14, 15]], [[1, 0], [1, 1]], 2);
    a = advance(a, "append", [[7, 8, 9], [16, 17, 18]], [[1, 1, 0], [0, 0, 0]], 2);
    // B: one row, full graphs, 24 rejected.
    let b = advance(BatchKvCache.empty(shape, 1), "full", [[21, 22, 23]], [[1, 1, 1]], 0);
    b = advance(b, "full", [[21, 22, 23, 24, 25]], [[0, 1]], 0);
    return { a, b };
  }

  it("copies the valid positions of rows from different caches, left-padded to the longest, with room", () => {
    const { a, b } = caches();
    // Valid tokens: A row 1 [11..15], B row 0 [21,22,23,25], A row 0 [1,2,3,4,5,7,8].
    const g = BatchKvCache.gather(shape, [{ cache: a, row: 1 }, { cache: b, row: 0 }, { cache: a, row: 0 }], 3);
    expect(g.width).toBe(10);
    expectCache(
      g,
      7,
      [
        [0, 0, 11, 12, 13, 14, 15, 0, 0, 0],
        [0, 0, 0, 21, 22, 23, 25, 0, 0, 0],
        [1, 2, 3, 4, 5, 7, 8, 0, 0, 0],
      ],
      [
        [0, 0, 1, 1, 1, 1, 1, 0, 0, 0],
        [0, 0, 0, 1, 1, 1, 1, 0, 0, 0],
        [1, 1, 1, 1, 1, 1, 1, 0, 0, 0],
      ],
    );
    expect(g.squeezableRatio()).toBe(0);

    // The room takes the next step in place.
    const g2 = advance(g, "append", [[16, 17], [26, 27], [10, 0]], [[1, 1], [1, 1], [1, 0]], 3);
    expect(g2).toBe(g);
    expect(g2.length).toBe(9);
    expect(g2.validCount).toEqual([7, 6, 8]);
  });

  it("squeezes the holes out of a cache's own rows", () => {
    const { a } = caches();
    expect(a.squeezableRatio()).toBeCloseTo(2 / 9, 12);
    const s = BatchKvCache.gather(shape, [{ cache: a, row: 0 }, { cache: a, row: 1 }], 0);
    expectCache(
      s,
      7,
      [
        [1, 2, 3, 4, 5, 7, 8],
        [0, 0, 11, 12, 13, 14, 15],
      ],
      [
        [1, 1, 1, 1, 1, 1, 1],
        [0, 0, 1, 1, 1, 1, 1],
      ],
    );
    expect(s.squeezableRatio()).toBe(0);
  });

  it("gives an empty cache for no rows, and can repeat a row", () => {
    const { b } = caches();
    const none = BatchKvCache.gather(shape, [], 2);
    expect(none.rows).toBe(0);
    expect(none.length).toBe(0);
    const twice = BatchKvCache.gather(shape, [{ cache: b, row: 0 }, { cache: b, row: 0 }], 1);
    expectCache(twice, 4, [[21, 22, 23, 25, 0], [21, 22, 23, 25, 0]], [[1, 1, 1, 1, 0], [1, 1, 1, 1, 0]]);
  });

  it("matches a reference on random histories", () => {
    // mulberry32, so failures reproduce.
    let seed = 99;
    const rnd = () => {
      seed = (seed + 0x6d2b79f5) >>> 0;
      let t = seed;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
    const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
    let nextId = 1;
    for (let trial = 0; trial < 40; trial++) {
      // Each cache's history as this test sees it: ids and flags per row, by position.
      const built = Array.from({ length: 3 }, () => {
        const rows = int(1, 3);
        const kind: KvOutputs = rnd() < 0.5 ? "append" : "full";
        const hist = Array.from({ length: rows }, () => ({ ids: [] as number[], valid: [] as number[] }));
        let c = BatchKvCache.empty(shape, rows);
        for (let step = int(1, 6); step > 0; step--) {
          const s = int(1, 4);
          const ids = hist.map(() => Array.from({ length: s }, () => nextId++));
          const valid = hist.map(() => Array.from({ length: s }, () => (rnd() < 0.7 ? 1 : 0)));
          hist.forEach((h, r) => {
            h.ids.push(...ids[r]);
            h.valid.push(...valid[r]);
          });
          // Full graphs output the whole history; append graphs the step alone.
          c = advance(c, kind, kind === "full" ? hist.map((h) => h.ids) : ids, valid, int(0, 3));
        }
        return { c, hist };
      });
      const sources = Array.from({ length: int(1, 4) }, () => {
        const b = built[int(0, 2)];
        const row = int(0, b.hist.length - 1);
        return { cache: b.c, row, hist: b.hist[row] };
      });
      const room = int(0, 3);
      // Reference: the valid ids in order, left-padded to the longest, then room.
      const kept = sources.map((s) => s.hist.ids.filter((_, p) => s.hist.valid[p] === 1));
      const length = Math.max(...kept.map((k) => k.length));
      const zeros = (n: number) => new Array<number>(n).fill(0);
      const ones = (n: number) => new Array<number>(n).fill(1);
      const g = BatchKvCache.gather(shape, sources, room);
      expectCache(
        g,
        length,
        kept.map((k) => [...zeros(length - k.length), ...k, ...zeros(room)]),
        kept.map((k) => [...zeros(length - k.length), ...ones(k.length), ...zeros(room)]),
      );
    }
  });
});
