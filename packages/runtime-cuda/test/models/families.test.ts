// Hugging Face checkpoints of each supported family, made at random with the converter's generator and
// converted to ONNX: the engine's greedy output must equal an independent TypeScript forward pass
// (test/reference), token for token and in log-probability; speculative decoding must not change it;
// a sharded checkpoint must convert to the same model; an unsupported architecture must be refused.
import { cpSync, existsSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Engine } from "../../src/index.js";
import type { SpeculativeConfigInput } from "../../src/proposers/speculative-config.js";
import { ReferenceModel, type GreedyResult } from "../reference/forward.js";
import { readCheckpoint } from "../reference/safetensors.js";
import { convert, disagreement, makeCheckpoint, maxLogprobDiff, patchConfig, readConfig, runConverterModule, type EngineRun, type Family } from "./helpers.js";

const MAX_TOKENS = 32;
const RUN_WORDS = [" x", ";", "0", " the"];
/** |engine - reference| log-probability allowed: fp32 graph vs float64 loops (measured ~1e-5). */
const TOL = 2e-4;

// Texts that repeat, so n-gram and suffix drafts are proposed from the first step on.
const TEXTS = [
  "def add(a, b):\n    return a + b\n\ndef add(a, b):\n    return a + b\n\ndef add(",
  "SELECT id, name FROM users WHERE id = 1;\nSELECT id, name FROM users WHERE id = 2;\nSELECT id, name FROM users WHERE id =",
  "The quick brown fox jumps over the lazy dog. The quick brown fox jumps over the lazy dog. The quick",
];

interface Case {
  name: string;
  family: Family;
  seed: number;
  extra?: string[];
  patch?: Record<string, unknown>;
  /** What makes this case worth having, checked on the checkpoint's config and weights. */
  premise: (cfg: Record<string, unknown>, ref: ReferenceModel) => void;
  /** A deliberately wrong reference that must not match the engine (shows the comparison can fail). */
  wrong: (ref: ReferenceModel) => ReferenceModel[];
}

const CASES: Case[] = [
  {
    name: "llama, llama3 rope scaling, untied head",
    family: "llama",
    seed: 11,
    extra: ["--rope-scaling", "llama3"],
    // A small original context puts several of the 8 frequencies in the scaled and blended bands.
    patch: { rope_scaling: { rope_type: "llama3", factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 64 } },
    premise: (cfg, ref) => {
      expect(cfg.tie_word_embeddings).toBe(false);
      expect(ref.weights.has("lm_head.weight")).toBe(true);
      expect(ref.config.ropeScaling?.type).toBe("llama3");
    },
    wrong: (ref) => [ref.withOptions({ ignoreRopeScaling: true }), ref.withOptions({ ropeStyle: "interleaved" })],
  },
  {
    name: "llama, linear rope scaling",
    family: "llama",
    seed: 12,
    extra: ["--rope-scaling", "linear"],
    premise: (_cfg, ref) => expect(ref.config.ropeScaling).toMatchObject({ type: "linear", factor: 4 }),
    wrong: (ref) => [ref.withOptions({ ignoreRopeScaling: true })],
  },
  {
    name: "qwen2, tied, q/k/v biases",
    family: "qwen2",
    seed: 13,
    premise: (cfg, ref) => {
      expect(cfg.tie_word_embeddings).toBe(true);
      expect(ref.weights.has("lm_head.weight")).toBe(false);
      expect(ref.weights.has("model.layers.0.self_attn.q_proj.bias")).toBe(true);
    },
    wrong: (ref) => {
      const name = "model.layers.0.self_attn.k_proj.bias";
      return [ref.withTensor(name, new Float32Array(ref.weights.get(name)!.data.length))];
    },
  },
  {
    name: "qwen3, head_dim 32 with hidden 64 / 4 heads, q_norm and k_norm",
    family: "qwen3",
    seed: 14,
    premise: (_cfg, ref) => {
      expect(ref.config.headDim).not.toBe(ref.config.hidden / ref.config.heads);
      expect(ref.weights.has("model.layers.1.self_attn.k_norm.weight")).toBe(true);
    },
    wrong: (ref) => {
      const name = "model.layers.0.self_attn.q_norm.weight";
      return [ref.withTensor(name, new Float32Array(ref.weights.get(name)!.data.length).fill(1)), ref.withOptions({ ropeStyle: "interleaved" })];
    },
  },
];

async function runGreedy(engine: Engine, promptIds: number[], logprobs = false): Promise<EngineRun & { drafts: number; accepted: number }> {
  // Log-probabilities cost a softmax over the whole vocabulary per token: asked only where compared.
  const r = await engine.generate({ promptIds, maxTokens: MAX_TOKENS, temperature: 0, ignoreEos: true, logprobs });
  return { tokens: r.tokenIds, logprobs: r.logprobs ?? [], drafts: r.metrics.drafts, accepted: r.metrics.acceptedTokens };
}

async function withEngine<T>(dir: string, speculativeConfig: SpeculativeConfigInput | undefined, body: (e: Engine) => Promise<T>): Promise<T> {
  // Not adaptive: no draft is cut or paused for cost, so every proposed token is verified (and no verify
  // cost is measured at load).
  const engine = await Engine.load(dir, speculativeConfig ? { speculativeConfig, adaptive: false, verifyCost: 0 } : {});
  try {
    return await body(engine);
  } finally {
    await engine.close();
  }
}

/**
 * The prompts: the texts; each text, its greedy continuation and the text again (where the model's
 * output depends mostly on recent tokens, n-gram drafts then copy the continuation and are accepted);
 * and a run of one token `a` led by [a, b], b being the model's output after a run of a (the output after
 * a constant run does not depend on its length, so the context often ends in the pair a, b seen at the start).
 */
async function makePrompts(engine: Engine): Promise<number[][]> {
  const texts = TEXTS.map((t) => engine.tokenizer.encode(t));
  const echoes: number[][] = [];
  for (const p of texts) echoes.push([...p, ...(await runGreedy(engine, p)).tokens, ...p]);
  const runs: number[][] = [];
  for (const word of RUN_WORDS) {
    const a = engine.tokenizer.encode(word)[0];
    const b = (await runGreedy(engine, Array<number>(40).fill(a))).tokens[0];
    runs.push([a, b, ...Array<number>(40).fill(a)]);
  }
  return [...texts, ...echoes, ...runs];
}

/** Per case, printed at the end: the largest |logprob diff| vs the reference, and draft counts
 *  [drafts, accepted] (suffix: pass 1 then pass 2; n-gram acceptance on random weights is not asserted). */
const stats: Record<string, Record<string, number[]>> = {};
afterAll(() => console.log(`families: ${JSON.stringify(stats)}`));

/** Bit-for-bit equality (vitest's toEqual on millions of elements takes minutes). */
function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));
}

const work = mkdtempSync(join(tmpdir(), "glimpse-families-"));
afterAll(() => rmSync(work, { recursive: true, force: true }));

for (const c of CASES) {
  describe(c.name, () => {
    const ckpt = join(work, `${c.family}-${c.seed}`);
    const out = `${ckpt}-onnx`;
    let ref: ReferenceModel;
    let prompts: number[][];
    let plain: EngineRun[];
    let expected: GreedyResult[];

    beforeAll(async () => {
      makeCheckpoint(ckpt, { family: c.family, seed: c.seed, extra: c.extra });
      if (c.patch) patchConfig(ckpt, c.patch);
      convert(ckpt, out);
      ref = ReferenceModel.load(ckpt);
      await withEngine(out, undefined, async (engine) => {
        prompts = await makePrompts(engine);
        plain = [];
        for (const p of prompts) plain.push(await runGreedy(engine, p, true));
      });
      expected = prompts.map((p) => ref.greedy(p, MAX_TOKENS));
    }, 300_000);

    it("is the case it claims to be", () => {
      c.premise(readConfig(ckpt), ref);
      expect(prompts.slice(0, TEXTS.length).every((p) => p.length >= 20)).toBe(true);
    });

    it("(a) greedy tokens and log-probabilities equal the reference forward pass", () => {
      stats[c.name] = { maxLogprobDiff: [Math.max(...prompts.map((_p, i) => maxLogprobDiff(expected[i], plain[i])))] };
      prompts.forEach((_p, i) => {
        expect(plain[i].tokens).toHaveLength(MAX_TOKENS);
        expect(disagreement(expected[i], plain[i], TOL), `prompt ${i} (max |logprob diff| ${maxLogprobDiff(expected[i], plain[i]).toExponential(2)})`).toBeUndefined();
      });
    });

    it("a wrong reference (rope variant or weight) does not match: the comparison can fail", () => {
      for (const bad of c.wrong(ref)) {
        const found = prompts.some((p, i) => disagreement(bad.greedy(p, MAX_TOKENS), plain[i], TOL) !== undefined);
        expect(found).toBe(true);
      }
    });

    it("(b) suffix and n-gram decoding give the plain tokens, with drafts proposed and accepted", async () => {
      // Suffix: a second pass over the prompts finds each first pass's output in the suffix cache.
      await withEngine(out, { method: "suffix" }, async (engine) => {
        const metrics = [0, 0, 0, 0];
        for (const pass of [0, 1]) {
          for (const [i, p] of prompts.entries()) {
            const r = await runGreedy(engine, p);
            expect(r.tokens, `suffix pass ${pass}, prompt ${i}`).toEqual(plain[i].tokens);
            metrics[2 * pass] += r.drafts;
            metrics[2 * pass + 1] += r.accepted;
          }
        }
        expect(metrics[2], "suffix drafts, second pass").toBeGreaterThan(0);
        expect(metrics[3], "suffix accepted tokens, second pass").toBeGreaterThan(0);
        stats[c.name] = { ...stats[c.name], suffix: metrics };
      });
      await withEngine(out, { method: "ngram", num_speculative_tokens: 4, prompt_lookup_max: 3 }, async (engine) => {
        let drafts = 0;
        let accepted = 0;
        for (const [i, p] of prompts.entries()) {
          const r = await runGreedy(engine, p);
          expect(r.tokens, `ngram, prompt ${i}`).toEqual(plain[i].tokens);
          drafts += r.drafts;
          accepted += r.accepted;
        }
        expect(drafts, "ngram drafts").toBeGreaterThan(0);
        stats[c.name].ngram = [drafts, accepted];
      });
    }, 300_000);

    if (c.family === "qwen2") {
      it("(c) a sharded checkpoint holds the same tensors and converts to the same tokens", async () => {
        const sharded = `${ckpt}-sharded`;
        makeCheckpoint(sharded, { family: c.family, seed: c.seed, shards: 3, extra: c.extra });
        if (c.patch) patchConfig(sharded, c.patch);
        expect(existsSync(join(sharded, "model.safetensors.index.json"))).toBe(true);
        expect(readdirSync(sharded).filter((f) => /^model-\d+-of-\d+\.safetensors$/.test(f))).toHaveLength(3);
        const tensors = readCheckpoint(sharded);
        expect([...tensors.keys()].sort()).toEqual([...ref.weights.keys()].sort());
        for (const [name, t] of ref.weights) expect(sameBits(tensors.get(name)!.data, t.data), name).toBe(true);
        convert(sharded, `${sharded}-onnx`);
        await withEngine(`${sharded}-onnx`, undefined, async (engine) => {
          for (const [i, p] of prompts.entries()) expect((await runGreedy(engine, p)).tokens, `prompt ${i}`).toEqual(plain[i].tokens);
        });
      }, 300_000);

      it("(d) an unsupported architecture is refused, naming the supported ones", () => {
        const gpt2 = join(work, "gpt2");
        cpSync(ckpt, gpt2, { recursive: true });
        patchConfig(gpt2, { architectures: ["GPT2LMHeadModel"], model_type: "gpt2" });
        const r = runConverterModule("glimpse_convert", ["--from", gpt2, "--out", join(work, "gpt2-onnx"), "--dtype", "fp32"]);
        expect(r.status).not.toBe(0);
        expect(r.stderr).toMatch(/GPT2LMHeadModel/);
        for (const arch of ["LlamaForCausalLM", "Qwen2ForCausalLM", "Qwen3ForCausalLM"]) expect(r.stderr).toContain(arch);
        expect(existsSync(join(work, "gpt2-onnx", "onnx", "model.onnx"))).toBe(false);
      });
    }
  });
}
