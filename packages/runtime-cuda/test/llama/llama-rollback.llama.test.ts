// Rejected drafts leave no trace in a llama.cpp sequence: drafts are forced
// (the proposer's answers replaced) to be wrong, or right up to a chosen
// token, with a different length in each row of a batch; every output must
// equal plain decoding and the accepted counts what the forced drafts allow.
// Sequences follow their requests: preempted requests keep theirs, ended and
// aborted ones give theirs back.
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { Engine, type Proposal, type ProposeInput } from "../../src/index.js";
import { prompts } from "../prompts.js";
import { EMBEDDED_DIR, tinyGguf, type TinyGguf } from "./tiny-gguf.js";

const TEXTS = prompts(2).map((p) => p.text); // 10 prompts, 2 of each kind
const MAX_TOKENS = 32;
const THREADS = { intraOpThreads: 1 };
const VOCAB = 4096;

let gguf: TinyGguf;
let plain: Engine;
let reference: number[][];
let promptIds: number[][];

beforeAll(async () => {
  gguf = tinyGguf();
  plain = await Engine.load(gguf.file, { maxBatchSize: 1, ...THREADS });
  promptIds = TEXTS.map((t) => plain.tokenizer.encode(t));
  reference = [];
  for (const ids of promptIds) reference.push((await plain.generate({ promptIds: ids, maxTokens: MAX_TOKENS, ignoreEos: true })).tokenIds);
}, 300_000);
afterAll(async () => {
  vi.restoreAllMocks();
  await plain?.close();
  gguf?.remove();
});

/** Which prompt a proposer input belongs to, and how many tokens its request has generated. */
function locate(input: ProposeInput): { row: number; generated: number } {
  const row = promptIds.findIndex((ids) => ids.length < input.tokens.length && ids.every((t, i) => input.tokens[i] === t));
  if (row < 0) throw new Error("a proposer input from an unknown prompt");
  return { row, generated: input.tokens.length - promptIds[row].length };
}

/**
 * Replaces the engine's drafts: row `row` at `generated` tokens drafts `length(row, generated)` tokens, the
 * first `right` of them the plain continuation, the rest wrong. Returns the accepted count the drafts allow.
 */
function forceDrafts(engine: Engine, shape: (row: number, generated: number) => { length: number; right: number }): { expected: number; drafted: number } {
  const tally = { expected: 0, drafted: 0 };
  vi.spyOn(engine.proposer!, "propose").mockImplementation(async (inputs: ProposeInput[]) => inputs.map((input): Proposal | null => {
    const { row, generated } = locate(input);
    const ref = reference[row];
    const { length, right } = shape(row, generated);
    const n = Math.min(length, input.maxTokens, ref.length - generated);
    if (n <= 0) return null;
    // Token j of the draft stands where ref[generated + j] is the target's choice.
    const tokens = Array.from({ length: n }, (_, j) => (j < right ? ref[generated + j] : (ref[generated + j] + 1 + row) % VOCAB));
    tally.expected += Math.min(right, n);
    tally.drafted += n;
    return { tokens, parents: tokens.map((_, j) => j - 1), probs: tokens.map(() => 0.5), score: n };
  }));
  return tally;
}

async function speculative(maxBatchSize: number): Promise<Engine> {
  // Not adaptive: every forced draft is verified in full.
  return Engine.load(gguf.file, { speculativeConfig: { method: "suffix", num_speculative_tokens: 8 }, maxBatchSize, adaptive: false, ...THREADS });
}

describe("rejected drafts", () => {
  it("drafts that are all wrong leave the output of plain decoding, alone and batched", { timeout: 300_000 }, async () => {
    for (const maxBatchSize of [1, 8]) {
      const engine = await speculative(maxBatchSize);
      const tally = forceDrafts(engine, (row) => ({ length: 1 + (row % 8), right: 0 }));
      const got = await Promise.all(promptIds.map((ids) => engine.generate({ promptIds: ids, maxTokens: MAX_TOKENS, ignoreEos: true })));
      got.forEach((r, i) => expect(r.tokenIds, `batch ${maxBatchSize}, prompt ${i}`).toEqual(reference[i]));
      expect(tally.drafted).toBeGreaterThan(MAX_TOKENS * promptIds.length); // every step verified a draft
      expect(engine.cumulative.acceptedTokens).toBe(0);
      await engine.close();
    }
  });

  it("rows of one batch with drafts of different lengths, right up to different tokens, accept exactly those", { timeout: 300_000 }, async () => {
    const engine = await speculative(8);
    // Row r drafts 1..8 tokens, right up to a point that moves with the output position (sometimes all right).
    const tally = forceDrafts(engine, (row, generated) => {
      const length = 1 + ((row + generated) % 8);
      return { length, right: (row * 3 + generated) % (length + 1) };
    });
    const got = await Promise.all(promptIds.map((ids) => engine.generate({ promptIds: ids, maxTokens: MAX_TOKENS, ignoreEos: true })));
    got.forEach((r, i) => expect(r.tokenIds, `prompt ${i}`).toEqual(reference[i]));
    expect(tally.expected).toBeGreaterThan(0);
    expect(engine.cumulative.draftTokens).toBe(tally.drafted);
    expect(engine.cumulative.acceptedTokens).toBe(tally.expected);
    await engine.close();
  });
});

describe("batching", () => {
  it("the rows of a step are evaluated together: one llama.cpp decode per step, not one per row", { timeout: 300_000 }, async () => {
    const engine = await speculative(8);
    // Counts llama.cpp decode calls (node-llama-cpp 3.22's native context object, wrapped for the count alone).
    const context = (engine["backend"] as unknown as { context: { _ctx: Record<string, unknown> } }).context;
    const native = context._ctx;
    let decodes = 0;
    context._ctx = new Proxy(native, {
      get(target, key) {
        const value = target[key as string];
        if (typeof value !== "function") return value;
        return (...args: unknown[]) => {
          if (key === "decodeBatch") decodes++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      },
    });
    const got = await Promise.all(promptIds.slice(0, 8).map((ids) => engine.generate({ promptIds: ids, maxTokens: MAX_TOKENS, ignoreEos: true })));
    got.forEach((r, i) => expect(r.tokenIds, `prompt ${i}`).toEqual(reference[i]));
    const rowSteps = got.reduce((n, r) => n + r.metrics.steps, 0);
    const longest = Math.max(...got.map((r) => r.metrics.steps));
    expect(decodes).toBeGreaterThanOrEqual(longest);
    expect(decodes).toBeLessThan(longest + 8); // the steps, the prompts' pass and a few passes while rows join
    expect(rowSteps).toBeGreaterThan(4 * decodes);
    context._ctx = native;
    await engine.close();
  });
});

describe("sequences follow their requests", () => {
  it("preempted requests keep their sequence and resume where they stopped", { timeout: 300_000 }, async () => {
    const engine = await Engine.load(gguf.file, { speculativeConfig: { method: "suffix" }, maxBatchSize: 2, ...THREADS });
    const long = promptIds.slice(0, 4);
    const short = promptIds.slice(4, 8);
    const longs = long.map((ids) => engine.generate({ promptIds: ids, maxTokens: 160, ignoreEos: true, speculate: false }));
    await new Promise((r) => setTimeout(r, 300));
    const shorts = short.map((ids) => engine.generate({ promptIds: ids, maxTokens: 6, ignoreEos: true }));
    const got = await Promise.all([...longs, ...shorts]);
    expect(engine["scheduler"].preemptions).toBeGreaterThan(0);
    for (const [i, ids] of [...long, ...short].entries()) {
      const maxTokens = i < long.length ? 160 : 6;
      expect(got[i].tokenIds, `request ${i}`).toEqual((await plain.generate({ promptIds: ids, maxTokens, ignoreEos: true })).tokenIds);
    }
    await engine.close();
  });

  it("a request aborted while its row is evaluated gives its sequence back after the evaluation, not during it", { timeout: 300_000 }, async () => {
    const engine = await Engine.load(gguf.file, { maxBatchSize: 1, ...THREADS });
    const backend = engine["backend"];
    const run = backend.run.bind(backend);
    for (const at of [1, 3, 6]) {
      const ac = new AbortController();
      let passes = 0;
      const spy = vi.spyOn(backend, "run").mockImplementation((...args) => {
        const pass = run(...args);
        if (++passes === at) ac.abort(); // the request ends while llama.cpp evaluates its row
        return pass;
      });
      const aborted = engine.generate({ promptIds: promptIds[0], maxTokens: MAX_TOKENS, ignoreEos: true, signal: ac.signal });
      await expect(aborted).rejects.toThrow(/aborted/);
      spy.mockRestore();
      // The sequences it held serve the next requests as fresh ones.
      for (const i of [1, 2]) expect((await engine.generate({ promptIds: promptIds[i], maxTokens: MAX_TOKENS, ignoreEos: true })).tokenIds).toEqual(reference[i]);
    }
    // Aborted while its prompt runs, three times: more than the 2 sequences (1 row + 1 held aside), so a sequence
    // not given back would leave the next request waiting for one forever.
    const prefill = backend.prefill.bind(backend);
    for (let k = 0; k < 3; k++) {
      const ac = new AbortController();
      const spy = vi.spyOn(backend, "prefill").mockImplementation((...args) => {
        const pass = prefill(...args);
        ac.abort();
        return pass;
      });
      await expect(engine.generate({ promptIds: promptIds[0], maxTokens: MAX_TOKENS, signal: ac.signal })).rejects.toThrow(/aborted/);
      spy.mockRestore();
    }
    const next = engine.generate({ promptIds: promptIds[3], maxTokens: MAX_TOKENS, ignoreEos: true });
    const waited = await Promise.race([next, new Promise((res) => setTimeout(() => res("no sequence came"), 60_000))]);
    expect(waited).not.toBe("no sequence came");
    expect((await next).tokenIds).toEqual(reference[3]);
    await engine.close();
  });

  it("aborted and finished requests give their sequence back: many more requests than sequences all finish", { timeout: 300_000 }, async () => {
    const engine = await Engine.load(gguf.file, { speculativeConfig: { method: "suffix" }, maxBatchSize: 2, ...THREADS });
    // 2 rows + 1 held aside: 3 sequences. 24 requests aborted at random points, 12 finishing.
    const aborted = Array.from({ length: 24 }, async (_, i) => {
      const ac = new AbortController();
      setTimeout(() => ac.abort(), 5 + (i % 6) * 15);
      return engine.generate({ promptIds: promptIds[i % promptIds.length], maxTokens: 64, ignoreEos: true, signal: ac.signal }).catch((e: Error) => e.name);
    });
    const outcomes = await Promise.all(aborted);
    expect(outcomes.some((o) => o === "AbortError")).toBe(true);
    const done = await Promise.all(promptIds.concat(promptIds.slice(0, 2)).map((ids) => engine.generate({ promptIds: ids, maxTokens: MAX_TOKENS, ignoreEos: true })));
    done.forEach((r, i) => expect(r.tokenIds, `request ${i}`).toEqual(reference[i % promptIds.length]));
    await engine.close();
  });
});

describe("log-probabilities (the full logits path)", () => {
  it("greedy tokens with logprobs equal those without, and the logprobs equal onnxruntime's on the same weights", { timeout: 300_000 }, async () => {
    const onnx = await Engine.load(EMBEDDED_DIR, { maxBatchSize: 4, ...THREADS });
    const engine = await speculative(4);
    const some = promptIds.slice(0, 4);
    const [viaLlama, viaOnnx] = await Promise.all([engine, onnx].map((e) => Promise.all(some.map((ids) => e.generate({ promptIds: ids, maxTokens: 16, ignoreEos: true, topLogprobs: 3 })))));
    some.forEach((_, i) => {
      expect(viaLlama[i].tokenIds).toEqual(reference[i].slice(0, 16));
      expect(viaOnnx[i].tokenIds).toEqual(reference[i].slice(0, 16));
      // llama.cpp keeps K/V in float16: differences of about 1e-3 nats are its rounding, a wrong position or normaliser is far larger.
      viaLlama[i].logprobs!.forEach((lp, j) => expect(Math.abs(lp - viaOnnx[i].logprobs![j]), `prompt ${i} token ${j}`).toBeLessThan(1e-2));
      expect(viaLlama[i].topLogprobs!.map((t) => t.map((x) => x.id))).toEqual(viaOnnx[i].topLogprobs!.map((t) => t.map((x) => x.id)));
    });
    expect(viaLlama.every((r) => r.logprobs!.every((lp) => lp < 0 && lp > -30))).toBe(true);
    await Promise.all([engine.close(), onnx.close()]);
  });
});
