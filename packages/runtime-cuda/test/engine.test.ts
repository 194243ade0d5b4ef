// Engine behaviour: options, streaming, stopping, cancellation, errors.
import { cpSync, mkdtempSync, rmSync, writeFileSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine, GlimpseConfigError, ModelLoadError, chooseProvider, CUDA_INSTALL_COMMAND, TextTokenizer } from "../src/index.js";
import { IncrementalDetokenizer } from "../src/text/incremental-detokenizer.js";
import { StopStringMatcher } from "../src/text/stop-strings.js";
import { MODEL_DIR } from "./model-dir.js";
import { runExample } from "./run-example.js";

let engine: Engine;
beforeAll(async () => {
  engine = await Engine.load(MODEL_DIR, { speculativeConfig: { method: "suffix" } });
}, 120_000);
afterAll(async () => engine?.close());

const PROMPT = "export function add(a, b) {\n  return a + b;\n}\n\nexport function sub(a, b) {\n";

describe("generation", () => {
  it("streams chunks that add up to the final result", async () => {
    const stream = engine.stream({ prompt: PROMPT, maxTokens: 20 });
    let text = "";
    const ids: number[] = [];
    for await (const chunk of stream) {
      text += chunk.text;
      ids.push(...chunk.tokenIds);
    }
    const result = await stream.result;
    expect(result.text).toBe(text);
    expect(result.tokenIds).toEqual(ids);
    expect(result.completionTokens).toBe(ids.length);
    expect(result.promptTokens).toBe(engine.tokenizer.encode(PROMPT).length);
    expect(["stop", "length"]).toContain(result.finishReason);
    if (result.finishReason === "length") expect(ids.length).toBe(20);
    expect(result.text).toBe(engine.tokenizer.decode(ids));
  });

  it("merges chunks made between deliveries when asked to coalesce, first chunk at once", async () => {
    const read = async (streamCoalesceMs: number) => {
      const stream = engine.stream({ prompt: PROMPT, maxTokens: 48, ignoreEos: true, logprobs: true, speculate: false, streamCoalesceMs });
      const chunks: { tokenIds: number[]; text: string; logprobs?: number[] }[] = [];
      for await (const c of stream) chunks.push(c);
      return { chunks, result: await stream.result };
    };
    const plain = await read(0);
    const merged = await read(1000);
    expect(merged.result.tokenIds).toEqual(plain.result.tokenIds);
    expect(merged.chunks.flatMap((c) => c.tokenIds)).toEqual(plain.result.tokenIds);
    expect(merged.chunks.map((c) => c.text).join("")).toBe(plain.result.text);
    expect(merged.chunks.flatMap((c) => c.logprobs ?? [])).toHaveLength(48);
    // One chunk per step without coalescing; with a 1 s interval (longer than the whole generation), the
    // first step's token at once, then the rest in one chunk when the stream ends.
    expect(plain.chunks).toHaveLength(48);
    expect(merged.chunks.map((c) => c.tokenIds.length)).toEqual([1, 47]);
    expect(() => engine.stream({ prompt: PROMPT, streamCoalesceMs: -1 })).toThrow(/streamCoalesceMs: must be a number of milliseconds in \[0, 1000\]/);
  });

  it("reports a log-probability for every token", async () => {
    const r = await engine.generate({ prompt: PROMPT, maxTokens: 8, logprobs: true });
    expect(r.logprobs!.length).toBe(r.tokenIds.length);
    for (const lp of r.logprobs!) expect(lp).toBeLessThanOrEqual(0);
  });

  it("reproduces a sample with the same seed", async () => {
    const a = await engine.generate({ prompt: PROMPT, maxTokens: 12, temperature: 0.9, seed: 7 });
    const b = await engine.generate({ prompt: PROMPT, maxTokens: 12, temperature: 0.9, seed: 7 });
    const plain = await engine.generate({ prompt: PROMPT, maxTokens: 12, temperature: 0.9, seed: 7, speculate: false });
    expect(b.tokenIds).toEqual(a.tokenIds);
    // One uniform number per output position: drafts do not change a seeded sample.
    expect(plain.tokenIds).toEqual(a.tokenIds);
    const other = await engine.generate({ prompt: PROMPT, maxTokens: 12, temperature: 0.9, seed: 8 });
    expect(other.tokenIds).not.toEqual(a.tokenIds);
  });

  it("ends at a stop string without including it", async () => {
    const full = await engine.generate({ prompt: PROMPT, maxTokens: 24, ignoreEos: true });
    const cut = full.text.slice(2, 5);
    expect(cut.length).toBeGreaterThan(0);
    const r = await engine.generate({ prompt: PROMPT, maxTokens: 24, stop: [cut], ignoreEos: true });
    expect(r.finishReason).toBe("stop");
    expect(r.text).toBe(full.text.slice(0, full.text.indexOf(cut)));
  });

  it("ends at a stop token id", async () => {
    const full = await engine.generate({ prompt: PROMPT, maxTokens: 10, ignoreEos: true });
    const r = await engine.generate({ prompt: PROMPT, maxTokens: 10, stopTokenIds: [full.tokenIds[3]], ignoreEos: true });
    expect(r.finishReason).toBe("stop");
    expect(r.tokenIds).toEqual(full.tokenIds.slice(0, full.tokenIds.indexOf(full.tokenIds[3])));
  });

  it("cancels on abort and frees the request at once", async () => {
    const controller = new AbortController();
    const stream = engine.stream({ prompt: PROMPT, maxTokens: 200, ignoreEos: true, signal: controller.signal });
    let chunks = 0;
    await expect(
      (async () => {
        for await (const _ of stream) {
          if (++chunks === 2) controller.abort();
        }
      })(),
    ).rejects.toThrow(/aborted/);
    await expect(stream.result).rejects.toThrow(/aborted/);
    expect(engine.activeRequestCount).toBe(0);
  });

  it("cancels when the caller stops reading the stream", async () => {
    const stream = engine.stream({ prompt: PROMPT, maxTokens: 200, ignoreEos: true });
    for await (const _ of stream) break;
    await expect(stream.result).rejects.toThrow(/aborted/);
    expect(engine.activeRequestCount).toBe(0);
  });

  it("records speculation metrics", async () => {
    const before = engine.cumulative.steps;
    const r = await engine.generate({ prompt: PROMPT.repeat(3), maxTokens: 32, ignoreEos: true });
    expect(r.metrics.steps).toBeGreaterThan(0);
    expect(r.metrics.acceptedTokens).toBeLessThanOrEqual(r.metrics.draftTokens);
    expect(r.metrics.acceptedPerPosition.reduce((a, b) => a + b, 0)).toBe(r.metrics.acceptedTokens);
    expect(r.metrics.steps + r.metrics.acceptedTokens).toBeGreaterThanOrEqual(r.completionTokens - 1);
    expect(engine.cumulative.steps).toBe(before + r.metrics.steps);
  });
});

describe("bad options get clear errors", () => {
  const cases: [object, RegExp][] = [
    [{ prompt: PROMPT, maxTokens: -1 }, /max_tokens: must be an integer >= 1/],
    [{ prompt: PROMPT, maxTokens: 1e9 }, /max_tokens: prompt \(\d+ tokens\) \+ max_tokens \(1000000000\) exceeds the model's maximum length/],
    [{ prompt: PROMPT, topP: 0 }, /top_p: must be a number in \(0, 1\]/],
    [{ prompt: PROMPT, topP: 1.5 }, /top_p/],
    [{ prompt: PROMPT, temperature: -1 }, /temperature: must be a number in \[0, 100\]/],
    [{ prompt: "" }, /prompt: must contain at least one token/],
    [{ promptIds: [1, 2, 1e7] }, /prompt\[2\]: must be a token id in \[0, /],
    [{}, /prompt: must be a string/],
  ];
  for (const [opts, message] of cases) {
    it(`rejects ${JSON.stringify(opts).slice(0, 60)}`, () => {
      expect(() => engine.generate(opts)).toThrow(GlimpseConfigError);
      expect(() => engine.generate(opts)).toThrow(message);
    });
  }

  it("rejects unknown proposers and keys in the speculative config", async () => {
    await expect(Engine.load(MODEL_DIR, { speculativeConfig: { method: "eagle" } as never })).rejects.toThrow(
      /speculative_config.method: unknown proposer "eagle"; valid methods: suffix, ngram, arctic, mlp_speculator/,
    );
    await expect(Engine.load(MODEL_DIR, { speculativeConfig: { method: "suffix", suffix_depth: 3 } as never })).rejects.toThrow(
      /speculative_config.suffix_depth: unknown key/,
    );
    await expect(Engine.load(MODEL_DIR, { speculativeConfig: "{not json" })).rejects.toThrow(/speculative_config: not valid JSON/);
    await expect(Engine.load(MODEL_DIR, { speculativeConfig: { method: "arctic" } })).rejects.toThrow(/speculative_config.model: method "arctic" needs "model"/);
  });

  it("rejects a speculator built for another model", async () => {
    const dir = mkdtempSync(join(tmpdir(), "glimpse-spec-"));
    cpSync(join(MODEL_DIR, "speculator-mlp"), dir, { recursive: true });
    const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
    writeFileSync(join(dir, "config.json"), JSON.stringify({ ...config, hidden_size: config.hidden_size + 1 }));
    await expect(Engine.load(MODEL_DIR, { speculativeConfig: { method: "arctic", model: dir } })).rejects.toThrow(
      /speculator .* is incompatible with the model: it expects hidden size/,
    );
    rmSync(dir, { recursive: true });
  });

  it("names the missing file of a broken model folder", async () => {
    for (const missing of ["config.json", "tokenizer.json", "onnx"]) {
      const dir = mkdtempSync(join(tmpdir(), "glimpse-model-"));
      cpSync(MODEL_DIR, dir, { recursive: true });
      rmSync(join(dir, missing), { recursive: true });
      const err = await Engine.load(dir).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ModelLoadError);
      expect(String(err)).toContain(missing === "onnx" ? "onnx/model.onnx" : missing);
      rmSync(dir, { recursive: true });
    }
    await expect(Engine.load("/nonexistent/model")).rejects.toThrow(/model folder \/nonexistent\/model does not exist/);
  });

  it("runs the tree graph by default, another graph on request, and names a missing one", async () => {
    const byDefault = await Engine.load(MODEL_DIR);
    expect(byDefault.modelFile).toMatch(/onnx\/model_tree\.onnx$/);
    expect(byDefault.layout).toMatchObject({ maskRank: 4, kvOutputs: "append" });
    await byDefault.close();
    const hf = await Engine.load(MODEL_DIR, { graph: "onnx/model.onnx" });
    expect(hf.layout).toMatchObject({ maskRank: 2, kvOutputs: "full" });
    await hf.close();
    await expect(Engine.load(MODEL_DIR, { graph: "onnx/nope.onnx" })).rejects.toThrow(/graph onnx\/nope\.onnx: missing ONNX file/);
    await expect(Engine.load(MODEL_DIR, { graph: "" })).rejects.toThrow(GlimpseConfigError);
  });

  it("says how to install CUDA when it is asked for without its binaries", () => {
    const choice = chooseProvider("auto");
    expect(choice.reason.length).toBeGreaterThan(0);
    if (choice.provider === "cpu" && choice.reason.includes("not installed")) {
      expect(() => chooseProvider("cuda")).toThrow(CUDA_INSTALL_COMMAND);
    }
    expect(() => chooseProvider("tpu" as never)).toThrow(/device: must be one of auto, cuda, cpu, webgpu/);
  });
});

describe("text handling", () => {
  it("detokenizes incrementally without splitting characters", () => {
    const tok = TextTokenizer.fromDir(MODEL_DIR);
    const text = "naïve café — 日本語 🚀 done";
    const ids = tok.encode(text);
    const detok = new IncrementalDetokenizer(tok);
    let out = "";
    for (const id of ids) {
      const piece = detok.push([id]);
      expect(piece).not.toContain("\uFFFD");
      out += piece;
    }
    out += detok.flush();
    expect(out).toBe(text);
  });

  it("holds back text that may start a stop string", () => {
    const m = new StopStringMatcher(["</end>"]);
    expect(m.push("hello </")).toEqual({ emit: "hello ", stopped: false });
    expect(m.push("en")).toEqual({ emit: "", stopped: false });
    expect(m.push("d> more")).toEqual({ emit: "", stopped: true });
    const n = new StopStringMatcher(["</end>"]);
    expect(n.push("a </b")).toEqual({ emit: "a </b", stopped: false });
  });
});

describe("README example", () => {
  it("runs", { timeout: 120_000 }, async () => {
    const stdout = await runExample("generate.mjs");
    expect(stdout).toMatch(/provider: (cpu|cuda)/);
    expect(stdout).toMatch(/\d+ tokens in \d+ forward passes; \d+\/\d+ draft tokens accepted/);
  });
});
