// transformers.js-style folders through the Engine: onnx/model{S}.onnx and
// model_tree{S}.onnx for fp32, fp16 (float16 KV cache, logits, hidden state
// and 4-D mask) and q4 (MatMulNBits weights), weights as ONNX external data,
// and a num_logits_to_keep input. The folder is built at test time from the
// embedded model's graphs (test/fixtures-src/make_formats.py), in a temp dir.
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../../src/engine.js";
import { GlimpseConfigError, ModelLoadError } from "../../src/errors.js";
import type { GenerationResult } from "../../src/scheduler/request.js";
import { MODEL_DIR } from "../model-dir.js";

const HERE = fileURLToPath(new URL(".", import.meta.url));
const SCRIPT = resolve(HERE, "../fixtures-src/make_formats.py");
const PYTHON = process.env.GLIMPSE_PYTHON ?? "/usr/bin/python3";
const TOKENS = 24;

const names = ["user", "order", "item", "config", "event"];
const PROMPTS = Array.from({ length: 9 }, (_, i) => {
  const n = names[i % names.length];
  return [`export function get_${n}(${n}) {\n  return ${n}.`, `[\n  {"id": ${i}, "name": "${n}"},\n  {"id": ${i + 1}, "`, `// ${n} helpers\nconst ${n}s = new Map();\nfunction add${n}(x) {`][i % 3];
});

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), "glimpse-tjs-"));
  const r = spawnSync(PYTHON, [SCRIPT, "--model", MODEL_DIR, "--out", dir, "--dtypes", "fp32,fp16,q4"], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`make_formats.py failed: ${r.stderr}${r.error ?? ""}`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function greedy(modelDir: string, options: Parameters<typeof Engine.load>[1]): Promise<{ engine: string; results: GenerationResult[] }> {
  const engine = await Engine.load(modelDir, { intraOpThreads: 1, ...options });
  const results: GenerationResult[] = [];
  // Sent together: batched prefill and decoding, as a server sees them.
  results.push(...(await Promise.all(PROMPTS.map((prompt) => engine.generate({ prompt, maxTokens: TOKENS, temperature: 0, topLogprobs: 5 })))));
  const file = engine.modelFile;
  await engine.close();
  return { engine: file, results };
}

const ids = (rs: GenerationResult[]) => rs.map((r) => r.tokenIds);

/** Common prefix length of two token lists. */
function common(a: number[], b: number[]): number {
  let k = 0;
  while (k < a.length && a[k] === b[k]) k++;
  return k;
}

describe("transformers.js folders", () => {
  let reference: GenerationResult[];
  beforeAll(async () => {
    reference = (await greedy(MODEL_DIR, {})).results;
  });

  it("fp32 with external data and num_logits_to_keep: the embedded model's tokens, tree and 2-D graphs, plain and speculative", async () => {
    for (const graph of [undefined, "onnx/model.onnx"]) {
      const plain = await greedy(dir, { dtype: "fp32", graph });
      expect(plain.engine).toBe(join(dir, graph ?? "onnx/model_tree.onnx"));
      expect(ids(plain.results)).toEqual(ids(reference));
      const spec = await greedy(dir, { dtype: "fp32", graph, speculativeConfig: { method: "suffix" } });
      expect(ids(spec.results)).toEqual(ids(reference));
    }
  });

  it("fp16 (float16 KV, logits, mask): the same greedy tokens, log-probabilities within 0.05", async () => {
    // float16 keeps 11 significant bits (relative rounding 2^-11 ~ 5e-4 per cached value); measured here:
    // identical 32-token outputs on 12 prompts, first-position log-probability differences <= 0.007.
    for (const graph of [undefined, "onnx/model_fp16.onnx"]) {
      const got = await greedy(dir, { dtype: "fp16", graph });
      expect(got.engine).toBe(join(dir, graph ?? "onnx/model_tree_fp16.onnx"));
      expect(ids(got.results)).toEqual(ids(reference));
      got.results.forEach((r, i) => {
        for (const t of reference[i].topLogprobs![0]) {
          const m = r.topLogprobs![0].find((x) => x.id === t.id);
          expect(m, `prompt ${i}: token ${t.id} left the top 5`).toBeDefined();
          expect(Math.abs(m!.logprob - t.logprob)).toBeLessThan(0.05);
        }
      });
    }
  });

  it("q4 (MatMulNBits): the first tokens of fp32, and not fp32's weights", async () => {
    // 4-bit weights in blocks of 32 move this 2M model's logits by up to ~1 nat: greedy paths part after a few
    // tokens (measured: common prefixes of 3 to 32 tokens over 12 prompts). The first two tokens must agree.
    for (const graph of [undefined, "onnx/model_q4.onnx"]) {
      const got = await greedy(dir, { dtype: "q4", graph });
      expect(got.engine).toBe(join(dir, graph ?? "onnx/model_tree_q4.onnx"));
      const prefixes = got.results.map((r, i) => common(r.tokenIds, reference[i].tokenIds));
      expect(Math.min(...prefixes)).toBeGreaterThanOrEqual(2);
      // The premise: these are other weights (a q4 file loaded as fp32 would match everywhere).
      expect(prefixes.some((p) => p < TOKENS)).toBe(true);
    }
  });

  it("config.json's dtype is the default; a missing dtype names the field and the dtypes present", async () => {
    const withConfig = mkdtempSync(join(tmpdir(), "glimpse-tjs-"));
    spawnSync(PYTHON, [SCRIPT, "--model", MODEL_DIR, "--out", withConfig, "--dtypes", "fp16,q4", "--config-dtype", "q4"], { encoding: "utf8" });
    const e = await Engine.load(withConfig, { intraOpThreads: 1 });
    expect(e.modelFile).toBe(join(withConfig, "onnx/model_tree_q4.onnx"));
    await e.close();
    const err = await Engine.load(withConfig, { dtype: "fp32" }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(GlimpseConfigError);
    expect((err as GlimpseConfigError).field).toBe("dtype");
    expect(String((err as Error).message)).toMatch(/model\.onnx.*fp16, q4/);
    rmSync(withConfig, { recursive: true, force: true });
  });

  it("a missing external data file is a clear load error", async () => {
    const broken = mkdtempSync(join(tmpdir(), "glimpse-tjs-"));
    cpSync(dir, broken, { recursive: true });
    rmSync(join(broken, "onnx/model_tree.onnx_data"));
    const err = await Engine.load(broken, { dtype: "fp32" }).catch((x: unknown) => x);
    expect(err).toBeInstanceOf(ModelLoadError);
    expect(String((err as Error).message)).toMatch(/model_tree\.onnx_data/);
    rmSync(broken, { recursive: true, force: true });
  });
});
