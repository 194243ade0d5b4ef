// Pure logic behind loading transformers.js-style folders: dtype choice,
// float16 conversion, float16 KV buffers, prefill grouping, and the
// verify-cost cache. Expected values are written out here or computed by an
// independent formula, never by the code under test.
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { GlimpseConfigError, ModelLoadError } from "../src/errors.js";
import { BatchKvCache, type KvShape } from "../src/kv/batch-kv-cache.js";
import { chooseGraph, configDtype, dtypesInFolder } from "../src/model/dtype.js";
import { halfToFloat, maskToHalf } from "../src/model/half.js";
import { planPrefill } from "../src/model/prefill.js";
import { defaultIntraOpThreads, macsPerToken, MANY_THREADS_MACS, threadsForModel } from "../src/model/session.js";
import { costCacheDir, costKey, readCostCache, writeCostCache, type CostTimings } from "../src/verify/verify-cost-cache.js";
import { priorCost } from "../src/verify/verify-cost-load.js";
import { costFromTimings, profileContext } from "../src/verify/verify-cost-profile.js";

const temp = mkdtempSync(join(tmpdir(), "glimpse-formats-"));
afterAll(() => rmSync(temp, { recursive: true, force: true }));

/** A model folder holding empty files of these names under onnx/. */
function folder(files: string[]): string {
  const dir = mkdtempSync(join(temp, "m-"));
  mkdirSync(join(dir, "onnx"));
  for (const f of files) writeFileSync(join(dir, "onnx", f), "");
  return dir;
}

describe("dtype choice (transformers.js file names)", () => {
  const all = ["model.onnx", "model_fp16.onnx", "model_quantized.onnx", "model_q4.onnx", "model_q4f16.onnx", "model_int8.onnx", "model_uint8.onnx", "model_bnb4.onnx"];

  it("lists the dtypes a folder has and picks each one's file", () => {
    const dir = folder(all);
    expect(dtypesInFolder(dir)).toEqual(["fp32", "fp16", "int8", "uint8", "q8", "q4", "q4f16", "bnb4"]);
    const want: Record<string, string> = { fp32: "model.onnx", fp16: "model_fp16.onnx", q8: "model_quantized.onnx", q4: "model_q4.onnx", q4f16: "model_q4f16.onnx", int8: "model_int8.onnx", uint8: "model_uint8.onnx", bnb4: "model_bnb4.onnx" };
    for (const [d, f] of Object.entries(want)) expect(chooseGraph(dir, d, {}).file).toBe(join(dir, "onnx", f));
  });

  it("defaults to fp32 when present, prefers Glimpse's tree graph of the dtype", () => {
    const dir = folder(["model.onnx", "model_q4.onnx", "model_tree_q4.onnx"]);
    expect(chooseGraph(dir, undefined, {})).toMatchObject({ file: join(dir, "onnx", "model.onnx"), dtype: "fp32" });
    expect(chooseGraph(dir, "auto", {}).dtype).toBe("fp32");
    expect(chooseGraph(dir, "q4", {}).file).toBe(join(dir, "onnx", "model_tree_q4.onnx"));
  });

  it("takes config.json's transformers.js_config.dtype (a string or per file), else the only dtype present", () => {
    const dir = folder(["model.onnx", "model_fp16.onnx"]);
    expect(chooseGraph(dir, undefined, { "transformers.js_config": { dtype: "fp16" } }).dtype).toBe("fp16");
    expect(chooseGraph(dir, undefined, { "transformers.js_config": { dtype: { model: "fp16" } } }).dtype).toBe("fp16");
    expect(chooseGraph(dir, "fp32", { "transformers.js_config": { dtype: "fp16" } }).dtype).toBe("fp32"); // the option wins
    expect(configDtype({ "transformers.js_config": { dtype: "auto" } })).toBeNull();
    expect(() => configDtype({ "transformers.js_config": { dtype: "fp8" } })).toThrow(/transformers\.js_config\.dtype/);
    expect(chooseGraph(folder(["model_q4f16.onnx"]), undefined, {}).dtype).toBe("q4f16");
  });

  it("names the field and the dtypes present when a dtype has no file", () => {
    const dir = folder(["model.onnx", "model_q4.onnx"]);
    const err = (() => {
      try {
        chooseGraph(dir, "fp16", {});
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(GlimpseConfigError);
    expect((err as GlimpseConfigError).field).toBe("dtype");
    expect(String((err as Error).message)).toMatch(/model_fp16\.onnx.*fp32, q4/);
    expect(() => chooseGraph(dir, "fp64", {})).toThrow(GlimpseConfigError);
    // config.json naming a missing dtype: a broken folder
    expect(() => chooseGraph(dir, undefined, { "transformers.js_config": { dtype: "q8" } })).toThrow(ModelLoadError);
    // several dtypes, no fp32, none named: ambiguous
    expect(() => chooseGraph(folder(["model_fp16.onnx", "model_q4.onnx"]), undefined, {})).toThrow(/several dtypes \(fp16, q4\)/);
  });
});

/** Half-precision bits decoded by the textbook formula. */
function refHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return sign * m * Math.pow(2, -24);
  if (e === 31) return m === 0 ? sign * Infinity : NaN;
  return sign * (1 + m / 1024) * Math.pow(2, e - 15);
}

describe("float16 conversion", () => {
  it("decodes known values", () => {
    const bits = Uint16Array.of(0x0000, 0x8000, 0x3c00, 0xc000, 0x7bff, 0x0001, 0x03ff, 0x0400, 0x7c00, 0xfc00, 0x3555);
    const got = Array.from(halfToFloat(bits));
    expect(got.slice(0, 10)).toEqual([0, -0, 1, -2, 65504, 2 ** -24, 1023 * 2 ** -24, 2 ** -14, Infinity, -Infinity]);
    expect(got[10]).toBeCloseTo(0.33325195, 7);
    expect(Object.is(got[1], -0)).toBe(true);
  });

  it("decodes all 65536 bit patterns as the textbook formula does", () => {
    const all = Uint16Array.from({ length: 65536 }, (_, i) => i);
    const got = halfToFloat(all);
    let wrong = 0;
    for (let i = 0; i < 65536; i++) {
      const want = refHalf(i);
      if (!(Number.isNaN(want) ? Number.isNaN(got[i]) : Object.is(got[i], want))) wrong++;
    }
    expect(wrong).toBe(0);
  });

  it("turns an additive mask into 0 and the most negative finite half", () => {
    expect(Array.from(maskToHalf(Float32Array.of(0, -1e9, 0, -1e9)))).toEqual([0, 0xfbff, 0, 0xfbff]);
    expect(refHalf(0xfbff)).toBe(-65504);
  });
});

describe("BatchKvCache with float16 buffers", () => {
  const shape: KvShape = { numLayers: 1, numKvHeads: 1, headDim: 2, dtype: "float16" };
  // Bit patterns that a float conversion would change (NaN payloads, -0, the largest finite).
  const bits = (xs: number[]) => Uint16Array.from(xs);

  it("keeps raw half bits through append, regrow and gather", () => {
    const c0 = BatchKvCache.empty(shape, 1);
    expect(c0.keys[0]).toBeInstanceOf(Uint16Array);
    const c1 = c0.advance("append", [bits([0x7e01, 0x8000])], [bits([0xfbff, 0x0001])], [Uint8Array.of(1)], 2);
    const c2 = c1.advance("append", [bits([0x3c00, 0x7c00])], [bits([0x1234, 0xffff])], [Uint8Array.of(1)], 2);
    expect(c2.keys[0]).toBeInstanceOf(Uint16Array);
    const g = BatchKvCache.gather(shape, [{ cache: c2, row: 0 }], 1);
    expect(g.keys[0]).toBeInstanceOf(Uint16Array);
    expect(Array.from(g.keys[0])).toEqual([0x7e01, 0x8000, 0x3c00, 0x7c00, 0, 0]);
    expect(Array.from(g.values[0])).toEqual([0xfbff, 0x0001, 0x1234, 0xffff, 0, 0]);
  });

  it("refuses float32 outputs into a float16 cache (they would be converted, not copied)", () => {
    expect(() => BatchKvCache.empty(shape, 1).advance("full", [Float32Array.of(1, 2)], [Float32Array.of(1, 2)], [Uint8Array.of(1)], 0)).toThrow(/float16/);
  });
});

describe("planPrefill", () => {
  it("puts short prompts of similar length together, longest first", () => {
    expect(planPrefill([100, 100, 100, 100])).toEqual([[0, 1, 2, 3]]);
    expect(planPrefill([10, 120, 110, 12])).toEqual([[1, 2], [3, 0]]);
  });

  it("keeps each pass within the position budget; long prompts run alone", () => {
    expect(planPrefill([16, 16, 16, 16, 16, 16, 16, 16], 64)).toEqual([[0, 1, 2, 3], [4, 5, 6, 7]]);
    expect(planPrefill([512, 512, 20, 20])).toEqual([[0], [1], [2, 3]]);
    expect(planPrefill([512, 512], 4096, 1024)).toEqual([[0, 1]]);
    expect(planPrefill([3000, 20], 2048, 4096)).toEqual([[0], [1]]);
    expect(planPrefill([])).toEqual([]);
  });
});

describe("verify-cost cache", () => {
  const timings: CostTimings = { oneKs: [0, 1, 2, 4, 8, 16], oneMs: [100, 116, 125, 134, 161, 216], batchKs: [0, 16], batchMs: [400, 1600] };

  it("reads back what it wrote, for the same key only", () => {
    const dir = mkdtempSync(join(temp, "cache-"));
    const graph = join(dir, "model.onnx");
    writeFileSync(graph, "x");
    const key = costKey(graph, 2, 8, "cpu");
    expect(readCostCache(key, dir)).toBeNull();
    expect(writeCostCache(key, timings, dir)).toBe(true);
    expect(readCostCache(key, dir)).toEqual(timings);
    expect(readCostCache(costKey(graph, 1, 8, "cpu"), dir)).toBeNull(); // other thread count
    expect(readCostCache(costKey(graph, 2, 4, "cpu"), dir)).toBeNull(); // other batch size
    writeFileSync(join(dir, "model.onnx_data"), "weights"); // the model changed
    expect(readCostCache(costKey(graph, 2, 8, "cpu"), dir)).toBeNull();
  });

  it("reads a corrupt entry as none, and writing into an impossible folder is not an error", () => {
    const dir = mkdtempSync(join(temp, "cache-"));
    const graph = join(dir, "model.onnx");
    writeFileSync(graph, "x");
    const key = costKey(graph, 1, 1, "cpu");
    writeCostCache(key, timings, dir);
    for (const f of readdirSync(dir).filter((n: string) => n.startsWith("verify-cost-"))) writeFileSync(join(dir, f), "{not json");
    expect(readCostCache(key, dir)).toBeNull();
    expect(writeCostCache(key, timings, join(graph, "sub"))).toBe(false);
  });

  it("lives in GLIMPSE_CACHE_DIR, else $XDG_CACHE_HOME/glimpse, else ~/.cache/glimpse", () => {
    expect(costCacheDir({ GLIMPSE_CACHE_DIR: "/a/b", XDG_CACHE_HOME: "/x" })).toBe("/a/b");
    expect(costCacheDir({ XDG_CACHE_HOME: "/x" })).toBe("/x/glimpse");
    expect(costCacheDir({})).toMatch(/\.cache\/glimpse$/);
  });

  it("fills a sparse batch-1 table in linearly; the prior grows with k", () => {
    const cost = costFromTimings(timings, 1);
    expect(cost.single.at(3)).toBeCloseTo(1.295, 6); // between 1.25 (k=2) and 1.34 (k=4)
    expect(cost.single.at(16)).toBeCloseTo(2.16, 6);
    const prior = priorCost().single;
    expect(prior.at(0)).toBe(1);
    expect(prior.at(1)).toBeCloseTo(1.16, 6);
    expect(prior.at(16)).toBeCloseTo(2.16, 6);
    for (let k = 1; k <= 16; k++) expect(prior.at(k)).toBeGreaterThanOrEqual(prior.at(k - 1));
  });

  it("profiles at a context that leaves room for the draft under the length limit", () => {
    expect(profileContext(2048, 16)).toBe(256);
    expect(profileContext(40, 16)).toBe(23);
    expect(profileContext(10, 16)).toBe(1);
  });
});

describe("threads by model size", () => {
  it("counts weight multiply-adds per token (projections and LM head, worked out by hand)", () => {
    const qwen05 = { hiddenSize: 896, numLayers: 24, numHeads: 14, numKvHeads: 2, headDim: 64, intermediateSize: 4864, vocabSize: 151936 };
    const llama100m = { hiddenSize: 768, numLayers: 12, numHeads: 12, numKvHeads: 4, headDim: 64, intermediateSize: 2048, vocabSize: 128256 };
    expect(macsPerToken(qwen05)).toBe(493_961_216);
    expect(macsPerToken(llama100m)).toBe(173_998_080);
    expect(threadsForModel(macsPerToken(llama100m))).toBe(defaultIntraOpThreads());
    expect(threadsForModel(MANY_THREADS_MACS)).toBeGreaterThanOrEqual(defaultIntraOpThreads());
  });
});
