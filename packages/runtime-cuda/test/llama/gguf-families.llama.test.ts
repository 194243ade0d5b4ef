// GGUF export (`glimpse_convert --to gguf`) of each supported family, run by llama.cpp itself through
// node-llama-cpp (not through Glimpse's engine): random Hugging Face checkpoints made with the converter's
// generator, with real tokenizers, converted to f32 GGUF, must give the greedy tokens and log-probabilities of
// the independent TypeScript forward pass (test/reference); the embedded model's GGUF (from its ONNX graph) those
// of the onnxruntime engine. llama.cpp's own tokenizer must give the Hugging Face tokenizer's ids, and q8_0 / q4_0
// files must load and mostly agree on the first greedy token.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine, TextTokenizer } from "../../src/index.js";
import { ReferenceModel, type GreedyResult } from "../reference/forward.js";
import { disagreement, makeCheckpoint, maxLogprobDiff, patchConfig, REPO_ROOT, runConverterModule, type EngineRun, type Family } from "../models/helpers.js";

const MAX_TOKENS = 24;
/** |llama.cpp - reference| log-probability allowed: f32 weights and KV cache, no flash attention, vs float64
 *  loops (measured up to ~4e-4; llama.cpp's CPU flash attention alone moves them by up to ~6e-3). */
const TOL = 2e-3;
const EMBEDDED = join(REPO_ROOT, "models/glimpse-coder-tiny");

const TEXTS = [
  "def add(a, b):\n    return a + b\n\ndef add(a, b):\n    return a + b\n\ndef add(",
  "SELECT id, name FROM users WHERE id = 1;\nSELECT id, name FROM users WHERE id = 2;\nSELECT id, name FROM users WHERE id =",
  "The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog. The quick",
  "function fibonacci(n) {\n  if (n < 2) return n;\n  return fibonacci(n - 1) + fibonacci(",
];
/** Tokenizer edge cases: digit runs, contractions, spacing, accents, CJK, emoji. */
const TOKENIZE_TEXTS = [
  "x = 1234567 + 89; y = 3.14159", "I'll say it's THEY'RE done, we'VE", "  two  spaces\n\n\ttab\r\n  end   ",
  "héllo wörld, naïve café", "你好，世界。こんにちは", "emoji 🚀🦙 and ✅ ok", "snake_case camelCase __dunder__ ->=> ===",
];

// The few members of node-llama-cpp used here (it is an optional package: tsc must build without it).
interface Sequence {
  evaluateWithMetadata(tokens: number[], metadata: { confidence: true }, options: { temperature: number; yieldEogToken: boolean }):
    AsyncGenerator<{ token: number; confidence: number }>;
  clearHistory(): Promise<void>;
}
interface Context { getSequence(): Sequence; dispose(): Promise<void> }
interface Model {
  tokenize(text: string, specialTokens?: boolean): number[];
  createContext(o: Record<string, unknown>): Promise<Context>;
  dispose(): Promise<void>;
}
interface Llama { loadModel(o: { modelPath: string }): Promise<Model>; dispose(): Promise<void> }
interface FileInfo { tensorInfo?: { name: string; dimensions: readonly (number | bigint)[]; ggmlType: number }[] }

let llama: Llama;
let readGgufFileInfo: (path: string, o: { logWarnings: boolean }) => Promise<FileInfo>;
beforeAll(async () => {
  const name = "node-llama-cpp";
  const mod = await import(name).catch(() => {
    throw new Error("node-llama-cpp is not installed: run `npm run setup:llama` at the repository root");
  }) as { getLlama(o: object): Promise<Llama>; readGgufFileInfo: typeof readGgufFileInfo };
  llama = await mod.getLlama({ gpu: false, build: "never", logLevel: "error" });
  readGgufFileInfo = mod.readGgufFileInfo;
});
afterAll(async () => llama?.dispose());

const work = mkdtempSync(join(tmpdir(), "glimpse-gguf-families-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function toGguf(from: string, out: string, dtype: string): Record<string, unknown> {
  const r = runConverterModule("glimpse_convert", ["--from", from, "--to", "gguf", "--out", out, "--dtype", dtype]);
  if (r.status !== 0) throw new Error(`glimpse_convert --to gguf ${dtype} failed (${r.status}):\n${r.stderr.slice(-3000)}`);
  return JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, unknown>;
}

/** A loaded GGUF and a greedy decode with the chosen token's log-probability at each step. */
class Gguf {
  private constructor(readonly model: Model, private readonly ctx: Context, private readonly seq: Sequence) {}

  static async load(path: string): Promise<Gguf> {
    const model = await llama.loadModel({ modelPath: path });
    // threads: explicit (the default spins every core on this shared machine); f32 KV cache and no flash
    // attention: exact enough to compare log-probabilities with a float64 reference
    const ctx = await model.createContext({ contextSize: 512, sequences: 1, threads: 2, flashAttention: false,
      experimentalKvCacheKeyType: "F32", experimentalKvCacheValueType: "F32" });
    return new Gguf(model, ctx, ctx.getSequence());
  }

  async greedy(prompt: number[], maxTokens = MAX_TOKENS): Promise<EngineRun> {
    await this.seq.clearHistory();
    const run: EngineRun = { tokens: [], logprobs: [] };
    for await (const t of this.seq.evaluateWithMetadata(prompt, { confidence: true }, { temperature: 0, yieldEogToken: true })) {
      run.tokens.push(t.token);
      run.logprobs.push(Math.log(t.confidence));
      if (run.tokens.length >= maxTokens) break;
    }
    return run;
  }

  async dispose(): Promise<void> {
    await this.ctx.dispose();
    await this.model.dispose();
  }
}

interface Case {
  name: string;
  family: Family;
  seed: number;
  extra?: string[];
  patch?: Record<string, unknown>;
  /** Wrong references that must not match llama.cpp (shows the comparison can fail). */
  wrong?: (ref: ReferenceModel) => ReferenceModel[];
  /** Also convert to q8_0 and q4_0. */
  quantized?: boolean;
}

const CASES: Case[] = [
  {
    name: "llama, llama3 rope scaling, untied head",
    family: "llama", seed: 11, extra: ["--rope-scaling", "llama3"],
    // a small original context puts frequencies in all three llama3 bands (scaled, blended, kept)
    patch: { rope_scaling: { rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 } },
    wrong: (ref) => [ref.withOptions({ ignoreRopeScaling: true }), ref.withOptions({ ropeStyle: "interleaved" })],
  },
  {
    name: "llama, linear rope scaling",
    family: "llama", seed: 12, extra: ["--rope-scaling", "linear"],
    wrong: (ref) => [ref.withOptions({ ignoreRopeScaling: true })],
  },
  { name: "qwen2, tied, q/k/v biases", family: "qwen2", seed: 13, quantized: true },
  {
    name: "qwen3, head_dim 32 with hidden 64 / 4 heads, q_norm and k_norm",
    family: "qwen3", seed: 14, quantized: true,
    wrong: (ref) => [ref.withOptions({ ropeStyle: "interleaved" })],
  },
];

/** GGML type ids (ggml.h) of the storage types checked here. */
const GGML = { F32: 0, Q4_0: 2, Q8_0: 8 } as const;

/** Every matrix in `type`, every vector F32, as node-llama-cpp's own GGUF reader sees the file. */
async function expectStorage(file: string, type: keyof typeof GGML): Promise<void> {
  const tensors = (await readGgufFileInfo(file, { logWarnings: false })).tensorInfo ?? [];
  expect(tensors.length).toBeGreaterThan(0);
  for (const t of tensors) expect(t.ggmlType, `${t.name} [${t.dimensions.join(", ")}]`).toBe(t.dimensions.length > 1 ? GGML[type] : GGML.F32);
}

/** Fraction of prompts on which a quantized file's first greedy token is `expected`'s. */
async function firstTokenAgreement(file: string, prompts: number[][], expected: number[]): Promise<number> {
  const q = await Gguf.load(file);
  try {
    let same = 0;
    for (const [i, p] of prompts.entries()) if ((await q.greedy(p, 1)).tokens[0] === expected[i]) same++;
    return same / prompts.length;
  } finally {
    await q.dispose();
  }
}

const stats: Record<string, Record<string, number>> = {};
afterAll(() => console.log(`gguf families: ${JSON.stringify(stats)}`));

for (const c of CASES) {
  describe(c.name, () => {
    const ckpt = join(work, `${c.family}-${c.seed}`);
    let ref: ReferenceModel;
    let tokenizer: TextTokenizer;
    let gguf: Gguf;
    let prompts: number[][];
    let runs: EngineRun[];
    let expected: GreedyResult[];

    beforeAll(async () => {
      makeCheckpoint(ckpt, { family: c.family, seed: c.seed, extra: c.extra });
      if (c.patch) patchConfig(ckpt, c.patch);
      toGguf(ckpt, `${ckpt}-f32.gguf`, "f32");
      ref = ReferenceModel.load(ckpt);
      tokenizer = TextTokenizer.fromDir(ckpt);
      prompts = TEXTS.map((t) => tokenizer.encode(t));
      gguf = await Gguf.load(`${ckpt}-f32.gguf`);
      runs = [];
      for (const p of prompts) runs.push(await gguf.greedy(p));
      expected = prompts.map((p) => ref.greedy(p, MAX_TOKENS));
    }, 300_000);
    afterAll(async () => gguf?.dispose());

    it("the f32 file holds F32 tensors, an output head only when untied, rope_freqs only for llama3 scaling", async () => {
      await expectStorage(`${ckpt}-f32.gguf`, "F32");
      const names = ((await readGgufFileInfo(`${ckpt}-f32.gguf`, { logWarnings: false })).tensorInfo ?? []).map((t) => t.name);
      expect(names.includes("output.weight")).toBe(ref.weights.has("lm_head.weight"));
      expect(names.includes("rope_freqs.weight")).toBe(ref.config.ropeScaling?.type === "llama3");
    });

    it("llama.cpp's tokenizer gives the Hugging Face tokenizer's ids", () => {
      for (const text of [...TEXTS, ...TOKENIZE_TEXTS]) {
        expect(gguf.model.tokenize(text, false), JSON.stringify(text)).toEqual(tokenizer.encode(text));
      }
      // chat markers are special tokens: parsed as such when asked, as the Hugging Face tokenizer always does
      const chat = "<|im_start|>user\nhi<|im_end|>\n<|begin_of_text|><|eot_id|>";
      expect(gguf.model.tokenize(chat, true)).toEqual(tokenizer.encode(chat));
    });

    it("greedy tokens and log-probabilities equal the reference forward pass", () => {
      stats[c.name] = { maxLogprobDiff: Math.max(...prompts.map((_p, i) => maxLogprobDiff(expected[i], runs[i]))) };
      prompts.forEach((_p, i) => {
        expect(runs[i].tokens).toHaveLength(MAX_TOKENS);
        expect(disagreement(expected[i], runs[i], TOL), `prompt ${i}`).toBeUndefined();
      });
    });

    if (c.wrong) {
      it("a wrong reference (rope variant) does not match: the comparison can fail", () => {
        for (const bad of c.wrong!(ref)) {
          expect(prompts.some((p, i) => disagreement(bad.greedy(p, MAX_TOKENS), runs[i], TOL) !== undefined)).toBe(true);
        }
      });
    }

    if (c.quantized) {
      it("q8_0 and q4_0 files hold quantized matrices, load, and mostly agree on the first greedy token", async () => {
        // every text is a prompt here: one token each is cheap, and more prompts make the fraction meaningful
        const many = [...TEXTS, ...TOKENIZE_TEXTS].map((t) => tokenizer.encode(t));
        const manyFirst = many.map((p) => ref.greedy(p, 1).tokens[0]);
        for (const [dtype, type, minAgree] of [["q8_0", "Q8_0", 0.8], ["q4_0", "Q4_0", 0.5]] as const) {
          const file = `${ckpt}-${dtype}.gguf`;
          toGguf(ckpt, file, dtype);
          await expectStorage(file, type);
          const agree = await firstTokenAgreement(file, many, manyFirst);
          stats[c.name] = { ...stats[c.name], [`${dtype}FirstTokenAgreement`]: agree };
          expect(agree, dtype).toBeGreaterThanOrEqual(minAgree);
        }
      });
    }
  });
}

describe("the embedded model (weights from its ONNX graph)", () => {
  let gguf: Gguf;
  let tokenizer: TextTokenizer;
  let prompts: number[][];
  let onnx: EngineRun[];
  let runs: EngineRun[];
  /** Every text as a prompt, and the engine's first greedy token after each (for the quantized files). */
  let many: number[][];
  let manyFirst: number[];

  beforeAll(async () => {
    toGguf(EMBEDDED, join(work, "tiny-f32.gguf"), "f32");
    tokenizer = TextTokenizer.fromDir(EMBEDDED);
    prompts = TEXTS.map((t) => tokenizer.encode(t));
    const engine = await Engine.load(EMBEDDED);
    try {
      onnx = [];
      for (const promptIds of prompts) {
        const r = await engine.generate({ promptIds, maxTokens: MAX_TOKENS, temperature: 0, ignoreEos: true, logprobs: true });
        onnx.push({ tokens: r.tokenIds, logprobs: r.logprobs ?? [] });
      }
      many = [...TEXTS, ...TOKENIZE_TEXTS].map((t) => tokenizer.encode(t));
      manyFirst = [];
      for (const promptIds of many) {
        manyFirst.push((await engine.generate({ promptIds, maxTokens: 1, temperature: 0, ignoreEos: true })).tokenIds[0]);
      }
    } finally {
      await engine.close();
    }
    gguf = await Gguf.load(join(work, "tiny-f32.gguf"));
    runs = [];
    for (const p of prompts) runs.push(await gguf.greedy(p));
  }, 300_000);
  afterAll(async () => gguf?.dispose());

  it("llama.cpp's tokenizer gives the Hugging Face tokenizer's ids", () => {
    for (const text of [...TEXTS, ...TOKENIZE_TEXTS, "<|fim_prefix|>a<|fim_suffix|>b<|fim_middle|>"]) {
      expect(gguf.model.tokenize(text, true), JSON.stringify(text)).toEqual(tokenizer.encode(text));
    }
  });

  it("greedy tokens and log-probabilities equal the onnxruntime engine's", () => {
    stats.embedded = { maxLogprobDiff: Math.max(...prompts.map((_p, i) => maxLogprobDiff({ ...onnx[i], margins: [] }, runs[i]))) };
    prompts.forEach((_p, i) => {
      expect(onnx[i].tokens).toHaveLength(MAX_TOKENS);
      expect(disagreement({ ...onnx[i], margins: [] }, runs[i], TOL), `prompt ${i}`).toBeUndefined();
    });
  });

  it("q8_0 and q4_0 files hold quantized matrices, load, and mostly agree on the first greedy token", async () => {
    for (const [dtype, type, minAgree] of [["q8_0", "Q8_0", 0.8], ["q4_0", "Q4_0", 0.5]] as const) {
      const file = join(work, `tiny-${dtype}.gguf`);
      toGguf(EMBEDDED, file, dtype);
      await expectStorage(file, type);
      const agree = await firstTokenAgreement(file, many, manyFirst);
      stats.embedded = { ...stats.embedded, [`${dtype}FirstTokenAgreement`]: agree };
      expect(agree, dtype).toBeGreaterThanOrEqual(minAgree);
    }
  });
});
