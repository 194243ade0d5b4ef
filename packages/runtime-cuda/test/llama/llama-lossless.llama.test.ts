// Bar 1 of issue 14 on the llama.cpp backend: on a GGUF export of the
// embedded model (f32), greedy output with every proposer (suffix, n-gram,
// the MLP and LSTM speculators, the hybrid), alone and 8 at once, equals
// plain decoding on llama.cpp, which equals the onnxruntime backend's on the
// same weights (models/glimpse-coder-tiny).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { join } from "node:path";
import { Engine, type SpeculativeConfigInput } from "../../src/index.js";
import { EMBEDDED_PROPOSERS } from "../embedded-proposers.js";
import { prompts } from "../prompts.js";
import { EMBEDDED_DIR, tinyGguf, type TinyGguf } from "./tiny-gguf.js";

const PROMPTS = prompts(10); // 50 prompts, 10 of each kind (code, json, rewrite, fim, text)
const MAX_TOKENS = 24;
const THREADS = { intraOpThreads: 1 };

/** The proposers that draft without the target's hidden state; tree drafts are verified as their first chain. */
const CHAIN_PROPOSERS: Record<string, SpeculativeConfigInput> = {
  "suffix (path)": EMBEDDED_PROPOSERS["suffix (path)"],
  "suffix (tree, cut to its first chain)": EMBEDDED_PROPOSERS["suffix (tree)"],
  ngram: EMBEDDED_PROPOSERS.ngram,
};

let gguf: TinyGguf;
let reference: number[][];

async function plainTokens(model: string): Promise<number[][]> {
  const engine = await Engine.load(model, { maxBatchSize: 1, ...THREADS });
  const out: number[][] = [];
  for (const p of PROMPTS) out.push((await engine.generate({ prompt: p.text, maxTokens: MAX_TOKENS })).tokenIds);
  await engine.close();
  return out;
}

beforeAll(async () => {
  gguf = tinyGguf();
  reference = await plainTokens(gguf.file);
}, 600_000);
afterAll(() => gguf?.remove());

it("has 50 prompts of 5 kinds", () => {
  expect(PROMPTS.length).toBe(50);
  expect(new Set(PROMPTS.map((p) => p.kind)).size).toBe(5);
});

describe("plain decoding on llama.cpp", () => {
  it("runs on the llama.cpp backend and equals the onnxruntime backend's greedy output on the same fp32 weights", { timeout: 600_000 }, async () => {
    const probe = await Engine.load(gguf.file, { maxBatchSize: 1, ...THREADS });
    expect(probe.backendName).toBe("llama.cpp");
    expect(probe.provider.backend).toBe("llama.cpp");
    await probe.close();
    const viaOnnx = await plainTokens(EMBEDDED_DIR);
    PROMPTS.forEach((p, i) => expect(reference[i], `${p.kind} prompt ${i}`).toEqual(viaOnnx[i]));
    // Every prompt gave tokens (an empty output would make the comparisons vacuous).
    expect(reference.every((t) => t.length > 0)).toBe(true);
  });

  it("batched plain decoding (8 sequences of one context) gives each prompt's own tokens", { timeout: 600_000 }, async () => {
    const engine = await Engine.load(gguf.file, { maxBatchSize: 8, ...THREADS });
    const got = await Promise.all(PROMPTS.map((p, i) => engine.generate({ prompt: p.text, maxTokens: MAX_TOKENS - (i % 7) })));
    await engine.close();
    got.forEach((r, i) => expect(r.tokenIds, `batched ${PROMPTS[i].kind} prompt ${i}`).toEqual(reference[i].slice(0, MAX_TOKENS - (i % 7))));
  });
});

describe("greedy output with speculation equals plain decoding on llama.cpp", () => {
  for (const [name, config] of Object.entries(CHAIN_PROPOSERS)) {
    it(`${name}: alone and 8 at once`, { timeout: 600_000 }, async () => {
      // Alone, not adaptive: drafts are never cut nor paused, so every proposed token is verified.
      const alone = await Engine.load(gguf.file, { speculativeConfig: config, maxBatchSize: 1, adaptive: false, ...THREADS });
      let drafted = 0;
      let accepted = 0;
      for (let i = 0; i < PROMPTS.length; i++) {
        const r = await alone.generate({ prompt: PROMPTS[i].text, maxTokens: MAX_TOKENS });
        expect(r.tokenIds, `${PROMPTS[i].kind} prompt ${i}`).toEqual(reference[i]);
        drafted += r.metrics.draftTokens;
        accepted += r.metrics.acceptedTokens;
      }
      await alone.close();
      // Drafts were proposed, and some accepted: the comparison could have failed.
      expect(drafted).toBeGreaterThan(0);
      expect(accepted).toBeGreaterThan(0);
      // Batched: all requests in flight, 8 sequences per evaluation, joining and leaving; rows with drafts of
      // different lengths, partly rejected. Not adaptive (every draft verified), then adaptive (cost measured at load).
      for (const adaptive of [false, true]) {
        const batched = await Engine.load(gguf.file, { speculativeConfig: config, maxBatchSize: 8, adaptive, ...THREADS });
        if (adaptive) expect(batched.verifyCost.relative).toHaveLength(17);
        const results = await Promise.all(PROMPTS.map((p, i) => batched.generate({ prompt: p.text, maxTokens: MAX_TOKENS - (i % 7) })));
        results.forEach((r, i) => expect(r.tokenIds, `batched (adaptive ${adaptive}) ${PROMPTS[i].kind} prompt ${i}`).toEqual(reference[i].slice(0, MAX_TOKENS - (i % 7))));
        if (!adaptive) expect(batched.cumulative.acceptedTokens).toBeGreaterThan(0);
        await batched.close();
      }
    });
  }
});

describe("speculators that draft from the target's hidden state (llama.cpp computes it: llama-hidden.ts)", () => {
  for (const name of ["mlp", "lstm", "hybrid"]) {
    it(`${name}: greedy output equals plain decoding alone and 8 at once; drafts and acceptance equal onnxruntime's`, { timeout: 600_000 }, async () => {
      const config = { ...EMBEDDED_PROPOSERS[name], model: join(EMBEDDED_DIR, EMBEDDED_PROPOSERS[name].model!) };
      const counts: Record<string, { drafted: number; accepted: number }> = {};
      for (const [backend, path] of [["llama.cpp", gguf.file], ["onnxruntime", EMBEDDED_DIR]] as const) {
        const alone = await Engine.load(path, { speculativeConfig: config, maxBatchSize: 1, adaptive: false, ...THREADS });
        expect(alone.backendName).toBe(backend);
        const c = (counts[backend] = { drafted: 0, accepted: 0 });
        for (let i = 0; i < PROMPTS.length; i++) {
          const r = await alone.generate({ prompt: PROMPTS[i].text, maxTokens: MAX_TOKENS });
          expect(r.tokenIds, `${backend} ${PROMPTS[i].kind} prompt ${i}`).toEqual(reference[i]);
          c.drafted += r.metrics.draftTokens;
          c.accepted += r.metrics.acceptedTokens;
        }
        await alone.close();
      }
      // The speculator read the target's hidden states: it drafts and is accepted as on the ONNX graph's
      // last_hidden_state (llama.cpp's differ from it by float rounding only; wrong ones would draft otherwise).
      console.log(`${name}: drafted/accepted on llama.cpp ${JSON.stringify(counts["llama.cpp"])}, on onnxruntime ${JSON.stringify(counts.onnxruntime)}`);
      expect(counts["llama.cpp"].accepted).toBeGreaterThan(0);
      expect(counts["llama.cpp"].drafted).toBeGreaterThan(counts["llama.cpp"].accepted);
      expect(Math.abs(counts["llama.cpp"].drafted - counts.onnxruntime.drafted)).toBeLessThanOrEqual(counts.onnxruntime.drafted * 0.02);
      expect(Math.abs(counts["llama.cpp"].accepted - counts.onnxruntime.accepted)).toBeLessThanOrEqual(counts.onnxruntime.accepted * 0.02);
      // Batched: each row's hidden state is read at its own last accepted input.
      const batched = await Engine.load(gguf.file, { speculativeConfig: config, maxBatchSize: 8, adaptive: false, ...THREADS });
      const results = await Promise.all(PROMPTS.map((p, i) => batched.generate({ prompt: p.text, maxTokens: MAX_TOKENS - (i % 7) })));
      results.forEach((r, i) => expect(r.tokenIds, `batched ${PROMPTS[i].kind} prompt ${i}`).toEqual(reference[i].slice(0, MAX_TOKENS - (i % 7))));
      expect(batched.cumulative.acceptedTokens).toBeGreaterThan(0);
      await batched.close();
    });
  }
});
