// SuffixTokenPredictor on real llama.cpp (node-llama-cpp, CPU) with a GGUF of the embedded model: greedy text
// is the same with and without it, its drafts are made and validated, the shared cache learns across
// generations and sequences, and disposal frees what it should and nothing more.

import {
  DisposedError, getLlama, InputLookupTokenPredictor, LlamaChatSession, LlamaCompletion, LlamaLogLevel,
  type Llama, type LlamaContext, type LlamaContextSequence, type LlamaModel, type Token,
} from "node-llama-cpp";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { SuffixDecodingCache, SuffixTokenPredictor } from "../src/index.js";
import { JSON_PROMPTS, REWRITE_PROMPTS } from "./prompts.js";

let llama: Llama;
let model: LlamaModel;
let context: LlamaContext;

beforeAll(async () => {
  llama = await getLlama({ gpu: false, build: "never", logLevel: LlamaLogLevel.error });
  model = await llama.loadModel({ modelPath: inject("tinyGguf") });
  // One thread: the machine has two cores and other work on them.
  context = await model.createContext({ contextSize: 2048, sequences: 6, threads: 1 });
});

afterAll(async () => {
  await context?.dispose();
  await model?.dispose();
  await llama?.dispose();
});

const tokens = (text: string): Token[] => model.tokenize(text, true);

/** Greedy completion of each prompt on `sequence`; returns the texts and the sequence's prediction counts. */
async function complete(sequence: LlamaContextSequence, prompts: string[], maxTokens: number) {
  const completion = new LlamaCompletion({ contextSequence: sequence });
  const texts: string[] = [];
  for (const p of prompts) texts.push(await completion.generateCompletion(tokens(p), { maxTokens, temperature: 0 }));
  completion.dispose({ disposeSequence: false });
  return { texts, predictions: { ...sequence.tokenPredictions } };
}

describe("LlamaCompletion, greedy", () => {
  it.each([
    ["rewrite", REWRITE_PROMPTS, 200],
    ["JSON", JSON_PROMPTS, 120],
  ] as const)("gives the same %s text with the predictor as without, from validated drafts", async (_name, prompts, maxTokens) => {
    const plain = context.getSequence();
    const suffix = context.getSequence({ tokenPredictor: new SuffixTokenPredictor() });
    // Long drafts take the other path: most of each is refuted and erased from the sequence's state.
    const long = context.getSequence({ tokenPredictor: new SuffixTokenPredictor({ maxTokens: 16 }) });
    const lookup = context.getSequence({ tokenPredictor: new InputLookupTokenPredictor() });
    try {
      const want = await complete(plain, [...prompts], maxTokens);
      for (const t of want.texts) expect(t.length).toBeGreaterThan(50); // the prompts are really completed
      expect(want.predictions.validated + want.predictions.refuted).toBe(0);
      for (const sequence of [suffix, long, lookup]) {
        const got = await complete(sequence, [...prompts], maxTokens);
        expect(got.texts).toEqual(want.texts);
      }
      for (const sequence of [suffix, long]) {
        expect(sequence.tokenPredictions.validated).toBeGreaterThan(0);
        expect(sequence.tokenPredictions.used).toBeGreaterThan(0);
      }
      expect(long.tokenPredictions.refuted).toBeGreaterThan(suffix.tokenPredictions.refuted);
    } finally {
      for (const s of [plain, suffix, long, lookup]) s.dispose();
    }
  });
});

describe("the global response cache", () => {
  it("learns from each finished generation: the same request again draws fewer wrong drafts", async () => {
    const predictor = new SuffixTokenPredictor();
    const sequence = context.getSequence({ tokenPredictor: predictor });
    try {
      const prompt = REWRITE_PROMPTS[0]!;
      const first = await complete(sequence, [prompt], 200);
      const second = await complete(sequence, [prompt], 200);
      expect(second.texts).toEqual(first.texts);
      const delta = (k: "validated" | "refuted") => second.predictions[k] - first.predictions[k];
      // The first generation could draft only from the prompt and its own output so far; the second also from
      // the first response, which it repeats: fewer wrong drafts, and at least as many right ones.
      expect(first.predictions.refuted).toBeGreaterThan(0);
      expect(delta("refuted")).toBeLessThan(first.predictions.refuted);
      expect(delta("validated")).toBeGreaterThanOrEqual(first.predictions.validated);
      expect(predictor.cache.cachedRequests.length).toBe(2);
    } finally {
      sequence.dispose();
    }
  });

  it("is shared by the sequences given one cache, and not by a sequence with its own", async () => {
    const shared = new SuffixDecodingCache({ maxCachedRequests: 100 });
    const a = context.getSequence({ tokenPredictor: new SuffixTokenPredictor({ cache: shared }) });
    const b = context.getSequence({ tokenPredictor: new SuffixTokenPredictor({ cache: shared }) });
    const alone = context.getSequence({ tokenPredictor: new SuffixTokenPredictor() });
    try {
      const prompt = JSON_PROMPTS[1]!;
      const ra = await complete(a, [prompt], 120);
      const rb = await complete(b, [prompt], 120);
      const rAlone = await complete(alone, [prompt], 120);
      expect(rb.texts).toEqual(ra.texts);
      expect(rAlone.texts).toEqual(ra.texts);
      // b drafts from a's response; a sequence with a cache of its own does as a did (same prompt, empty cache).
      expect(rb.predictions.refuted).toBeLessThan(ra.predictions.refuted);
      expect(rb.predictions.validated).toBeGreaterThanOrEqual(ra.predictions.validated);
      expect(rAlone.predictions).toEqual(ra.predictions);
      expect(shared.cachedRequests.length).toBe(2);
    } finally {
      for (const s of [a, b, alone]) s.dispose();
      shared.dispose();
    }
  });
});

describe("LlamaChatSession", () => {
  it("answers the same with the predictor, and a second session drafts the repeated answer", async () => {
    const cache = new SuffixDecodingCache();
    const prompt = "Write a JSON list of three users with id, name and email.";
    const answer = async (sequence: LlamaContextSequence) => {
      const session = new LlamaChatSession({ contextSequence: sequence, autoDisposeSequence: false });
      const text = await session.prompt(prompt, { maxTokens: 96, temperature: 0 });
      session.dispose({ disposeSequence: false });
      return text;
    };
    const plain = context.getSequence();
    const first = context.getSequence({ tokenPredictor: new SuffixTokenPredictor({ cache }) });
    const second = context.getSequence({ tokenPredictor: new SuffixTokenPredictor({ cache }) });
    try {
      const want = await answer(plain);
      expect(want.length).toBeGreaterThan(20);
      expect(await answer(first)).toBe(want);
      expect(await answer(second)).toBe(want);
      expect(second.tokenPredictions.refuted).toBeLessThan(first.tokenPredictions.refuted);
      expect(second.tokenPredictions.validated).toBeGreaterThanOrEqual(first.tokenPredictions.validated);
      expect(second.tokenPredictions.used).toBeGreaterThan(0);
    } finally {
      for (const s of [plain, first, second]) s.dispose();
      cache.dispose();
    }
  });
});

describe("disposal", () => {
  it("disposing the sequence disposes its predictor and frees the cache it made", async () => {
    const predictor = new SuffixTokenPredictor();
    const sequence = context.getSequence({ tokenPredictor: predictor });
    await complete(sequence, [JSON_PROMPTS[0]!], 16);
    expect(predictor.cache.cachedRequests.length).toBe(1);
    sequence.dispose();
    expect(predictor.isDisposed).toBe(true);
    expect(() => predictor.predictTokens()).toThrow(DisposedError);
    // Its own cache is freed: using it now fails.
    expect(predictor.cache.cachedRequests).toEqual([]);
    expect(() => predictor.cache.memoryBytes()).toThrow(/used after dispose/);
  });

  it("leaves a shared cache working, its responses kept and no request of the disposed predictor open", async () => {
    const shared = new SuffixDecodingCache();
    const one = context.getSequence({ tokenPredictor: new SuffixTokenPredictor({ cache: shared }) });
    const two = context.getSequence({ tokenPredictor: new SuffixTokenPredictor({ cache: shared }) });
    try {
      const completion = new LlamaCompletion({ contextSequence: one });
      // Dispose mid-generation: the predictor's request is open then.
      let seen = 0;
      const abort = new AbortController();
      await completion.generateCompletion(tokens(REWRITE_PROMPTS[0]!), {
        maxTokens: 200, temperature: 0, signal: abort.signal, stopOnAbortSignal: true,
        onToken: (t) => { seen += t.length; if (seen >= 20) abort.abort(); },
      });
      one.dispose();
      expect(shared.activeRequests).toEqual([]);
      expect(shared.cachedRequests.length).toBe(1);
      expect(shared.memoryBytes()).toBeGreaterThan(0);
      const r = await complete(two, [REWRITE_PROMPTS[0]!], 40);
      expect(r.predictions.validated).toBeGreaterThan(0);
    } finally {
      two.dispose();
      shared.dispose();
    }
  });

  it("disposing a predictor mid-generation ends its request and keeps what it generated", () => {
    // Driven the way a sequence drives it, then disposed before the generation's stop().
    const shared = new SuffixDecodingCache();
    const predictor = new SuffixTokenPredictor({ cache: shared });
    const sequence = context.getSequence();
    try {
      const prompt = tokens(JSON_PROMPTS[0]!);
      predictor.reset({ targetSequence: sequence, stateTokens: prompt, evaluateOptions: {} });
      predictor.predictTokens();
      predictor.pushTokens(prompt.slice(0, 5));
      expect(shared.activeRequests.length).toBe(1);
      predictor.dispose();
      expect(shared.activeRequests).toEqual([]);
      expect(shared.cachedRequests.length).toBe(1);
      // The generated tokens are in the global tree: a new request drafts their continuation.
      shared.startRequest("probe", []);
      expect(Array.from(shared.speculate("probe", prompt.slice(0, 3), { maxSpecFactor: 4 }).tokenIds)).toEqual(prompt.slice(3, 5));
    } finally {
      sequence.dispose();
      shared.dispose();
    }
  });

  it("a prompt evaluated without generating takes no slot of the response cache", async () => {
    const predictor = new SuffixTokenPredictor({ maxCachedResponses: 1 });
    const sequence = context.getSequence({ tokenPredictor: predictor });
    try {
      await complete(sequence, [JSON_PROMPTS[0]!], 16);
      const cached = predictor.cache.cachedRequests;
      await sequence.evaluateWithoutGeneratingNewTokens(tokens("{\"a\": 1}"));
      predictor.stop();
      // The one slot still holds the response, not an empty preload.
      expect(predictor.cache.cachedRequests).toEqual(cached);
    } finally {
      sequence.dispose();
    }
  });
});
