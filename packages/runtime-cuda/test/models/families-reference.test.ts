// The reference forward pass itself, checked against a second implementation: tools/train's PyTorch
// model (patched per family by test/reference/torch_reference.py), and its safetensors reader against
// files numpy wrote in BF16, F16 and F32, single and sharded.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ReferenceModel, type ReferenceOptions } from "../reference/forward.js";
import { readCheckpoint } from "../reference/safetensors.js";
import { PYTHON, runConverterModule } from "./helpers.js";
import { spawnSync } from "node:child_process";

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "glimpse-ref-"));
  const script = fileURLToPath(new URL("../reference/torch_reference.py", import.meta.url));
  const r = spawnSync(PYTHON, [script, dir], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`torch_reference.py failed: ${r.stderr}`);
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Largest |reference - PyTorch| logit over every position of the fixed token sequence. */
function maxLogitDiff(variant: string, options: ReferenceOptions = {}): number {
  const d = join(dir, variant);
  const expected = JSON.parse(readFileSync(join(d, "expected.json"), "utf8")) as { ids: number[]; logits: number[][] };
  const model = ReferenceModel.load(d, options);
  const cache = model.newCache();
  let max = 0;
  expected.ids.forEach((t, i) => {
    const logits = model.logits(model.hidden(t, cache));
    logits.forEach((v, j) => (max = Math.max(max, Math.abs(v - expected.logits[i][j]))));
  });
  return max;
}

// Logits here are up to about 75; PyTorch computes in float32, the reference in float64.
const TOL = 1e-4;

describe("reference forward pass vs PyTorch", () => {
  it.each(["llama", "llama3", "qwen2", "qwen3"])("%s: logits at every position agree", (variant) => {
    expect(maxLogitDiff(variant)).toBeLessThan(TOL);
  });

  it("fails when RoPE pairs the wrong elements or rope_scaling is dropped", () => {
    for (const v of ["llama", "qwen3"]) expect(maxLogitDiff(v, { ropeStyle: "interleaved" })).toBeGreaterThan(10 * TOL);
    expect(maxLogitDiff("llama3", { ignoreRopeScaling: true })).toBeGreaterThan(10 * TOL);
  });
});

describe("safetensors reader", () => {
  it("reads F32 shards through the index exactly as the BF16 file", () => {
    const bf16 = readCheckpoint(join(dir, "llama"));
    const f32 = readCheckpoint(join(dir, "llama-f32-sharded"));
    expect([...f32.keys()].sort()).toEqual([...bf16.keys()].sort());
    for (const [name, t] of bf16) {
      expect(f32.get(name)!.shape, name).toEqual(t.shape);
      expect(f32.get(name)!.data, name).toEqual(t.data);
    }
  });

  it("reads F16 within half precision", () => {
    const bf16 = readCheckpoint(join(dir, "llama"));
    const f16 = readCheckpoint(join(dir, "llama-f16"));
    let worst = 0;
    for (const [name, t] of bf16) {
      const h = f16.get(name)!.data;
      // bf16 values are exact in f16 unless they fall below its normal range (2^-14).
      t.data.forEach((v, i) => (worst = Math.max(worst, Math.abs(h[i] - v) - (Math.abs(v) < 2 ** -14 ? 2 ** -24 : 0))));
    }
    expect(worst).toBe(0);
  });

  it("names the missing file when a checkpoint has no weights", () => {
    expect(() => readCheckpoint(join(dir, "nowhere"))).toThrow(/model\.safetensors/);
  });

  it("finds the converter's Python (the other model tests need it)", () => {
    expect(runConverterModule("glimpse_convert.random_checkpoint", ["--help"]).status).toBe(0);
  });
});
