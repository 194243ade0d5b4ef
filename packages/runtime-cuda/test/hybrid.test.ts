// The hybrid proposer with its real sides: the suffix tree (wasm) and the
// embedded model's MLP speculator on the CPU (a few small matmuls; it loads
// in a few hundred milliseconds, so no stand-in is needed).
import { join } from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { readModelConfig } from "../src/model/model-config.js";
import { ArcticProposer } from "../src/proposers/arctic.js";
import { HybridProposer } from "../src/proposers/hybrid.js";
import type { ProposeInput } from "../src/proposers/proposer.js";
import { SuffixProposer } from "../src/proposers/suffix.js";
import { MODEL_DIR } from "./model-dir.js";

const model = readModelConfig(MODEL_DIR);
let arctic: ArcticProposer;

beforeAll(async () => {
  arctic = await ArcticProposer.load(join(MODEL_DIR, "speculator-mlp"), model, undefined, { provider: "cpu", reason: "unit test" }, {});
});
afterAll(async () => {
  await arctic.dispose();
});

const suffixes: SuffixProposer[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const s of suffixes.splice(0)) await s.dispose();
});

/** A hybrid whose suffix side holds BLOCK as a document. */
function hybrid(useTreeSpec = false): HybridProposer {
  // The engine gives the hybrid's suffix side the tree depth as its cap.
  const suffix = new SuffixProposer({
    maxTreeDepth: 64,
    maxCachedRequests: 100,
    maxSpecTokens: 64,
    maxSpecFactor: 1,
    maxSpecOffset: 0,
    minTokenProb: 0.1,
    useTreeSpec,
  });
  suffixes.push(suffix);
  const h = new HybridProposer(suffix, arctic);
  h.documents.addDocument("block", BLOCK);
  return h;
}

/** A fixed hidden state: the speculator's draft depends on it only through the model. */
function hiddenState(seed: number): Float32Array {
  const h = new Float32Array(model.hiddenSize);
  for (let i = 0; i < h.length; i++) h[i] = Math.sin(seed * 1000 + i * 0.37);
  return h;
}

// The document 10..29 seen once, and a context ending in its first ten
// tokens: the suffix tree drafts 20, 21, ... each with probability exactly 1
// (so the score is the draft length), at most ten (the match length).
const BLOCK = Array.from({ length: 20 }, (_, i) => 10 + i);
const SURE = [500, ...BLOCK.slice(0, 10)];
// Tokens the tree has never seen: no suffix draft.
const UNSEEN = [900, 901, 902, 903];

function input(requestId: number, tokens: number[], maxTokens: number, extra: Partial<ProposeInput> = {}): ProposeInput {
  return { requestId, tokens, maxTokens, hidden: hiddenState(requestId), ...extra };
}

describe("HybridProposer", () => {
  it("declares the speculator's cap, the suffix side's documents and tree mode", () => {
    expect(arctic.info.nPredict).toBe(3);
    for (const tree of [false, true]) {
      const h = hybrid(tree);
      expect(h.method).toBe("arctic+suffix");
      expect(h.needsHidden).toBe(true);
      expect(h.draftsWhilePaused).toBe(true);
      expect(h.maxTokens).toBe(arctic.maxTokens);
      expect(h.maxTokens).toBe(3);
      expect(h.treeDrafts).toBe(tree);
      expect(h.documents).toBe(h.suffix);
      expect(h.chosen).toEqual({ suffix: 0, arctic: 0 });
    }
  });

  it("documents added through the hybrid feed its suffix drafts", async () => {
    const h = hybrid();
    expect(h.documents.listDocuments()).toEqual([{ name: "block", tokens: 20 }]);
    h.begin(1, [500, 10, 11, 12, 13]);
    const [d] = await h.propose([input(1, [500, 10, 11, 12, 13], 8)]);
    expect(d).toMatchObject({ tokens: [14, 15, 16, 17], probs: [1, 1, 1, 1], score: 4, free: true }); // capped at the match length (factor 1)
    h.documents.removeDocument("block");
    expect(await h.propose([input(1, [500, 10, 11, 12, 13], 8, { paused: true })])).toEqual([null]);
  });

  it("takes the suffix draft, marked free, when its score >= n_predict, without running the speculator", async () => {
    const h = hybrid();
    const spy = vi.spyOn(arctic, "propose");
    h.begin(1, SURE);
    // At its full length, not the speculator's cap of 3.
    const [d] = await h.propose([input(1, SURE, 8)]);
    expect(d).toMatchObject({ tokens: [20, 21, 22, 23, 24, 25, 26, 27], parents: [-1, 0, 1, 2, 3, 4, 5, 6], score: 8, free: true });
    expect(spy).not.toHaveBeenCalled();
    expect(h.chosen).toEqual({ suffix: 1, arctic: 0 });
  });

  it("the threshold is inclusive: score exactly n_predict takes the suffix draft, below it the speculator's", async () => {
    const h = hybrid();
    h.begin(1, SURE);
    const at = input(1, SURE, 3);
    const [d3] = await h.propose([at]);
    expect(d3).toMatchObject({ tokens: [20, 21, 22], score: 3, free: true });

    const below = input(1, SURE, 2);
    expect(h.suffix.proposeOne(below)).toMatchObject({ tokens: [20, 21], score: 2 });
    const [d2] = await h.propose([below]);
    const [fromModel] = await arctic.propose([below]);
    expect(fromModel).not.toBeNull();
    expect(d2).toEqual(fromModel);
    expect(d2!.free).toBeUndefined();
    expect(h.chosen).toEqual({ suffix: 1, arctic: 1 });
  });

  it("takes the speculator's draft when the suffix tree has none", async () => {
    const h = hybrid();
    h.begin(2, UNSEEN);
    const i = input(2, UNSEEN, 8);
    expect(h.suffix.proposeOne(i)).toBeNull();
    const [d] = await h.propose([i]);
    const [fromModel] = await arctic.propose([i]);
    expect(d).toEqual(fromModel);
    expect(d!.tokens).toHaveLength(3); // the speculator's own cap
    expect(h.chosen).toEqual({ suffix: 0, arctic: 1 });
  });

  it("paused inputs get suffix drafts only, free even below the threshold", async () => {
    const h = hybrid();
    const spy = vi.spyOn(arctic, "propose");
    h.begin(1, SURE);
    h.begin(2, UNSEEN);
    const out = await h.propose([input(1, SURE, 2, { paused: true }), input(2, UNSEEN, 8, { paused: true })]);
    expect(out[0]).toMatchObject({ tokens: [20, 21], score: 2, free: true });
    expect(out[1]).toBeNull();
    expect(spy).not.toHaveBeenCalled();
    expect(h.chosen).toEqual({ suffix: 1, arctic: 0 });
  });

  it("falls back to the suffix draft when the speculator gives none", async () => {
    const h = hybrid();
    h.begin(1, SURE);
    // Without a hidden state the speculator drafts nothing for the request.
    const i = input(1, SURE, 2, { hidden: undefined });
    expect(await arctic.propose([i])).toEqual([null]);
    const [d] = await h.propose([i]);
    expect(d).toEqual(h.suffix.proposeOne(i));
    expect(d!.tokens).toEqual([20, 21]);
    // The speculator ran, so the draft is not free; neither side is counted as chosen.
    expect(d!.free).toBeUndefined();
    expect(h.chosen).toEqual({ suffix: 0, arctic: 0 });
  });

  it("sends only the inputs that need it to the speculator, in one call, and keeps the batch order", async () => {
    const h = hybrid();
    const spy = vi.spyOn(arctic, "propose");
    for (const id of [1, 2, 3, 4]) h.begin(id, id === 3 ? UNSEEN : SURE);
    const batch = [
      input(1, SURE, 8), // suffix, free
      input(2, SURE, 2), // suffix score 2 < 3: speculator
      input(3, UNSEEN, 8), // no suffix draft: speculator
      input(4, SURE, 1, { paused: true }), // paused: suffix
    ];
    const out = await h.propose(batch);
    expect(spy).toHaveBeenCalledTimes(1);
    expect(spy.mock.calls[0][0]).toEqual([batch[1], batch[2]]);
    const fromModel = await arctic.propose([batch[1], batch[2]]);
    expect(out).toEqual([
      expect.objectContaining({ tokens: [20, 21, 22, 23, 24, 25, 26, 27], free: true }),
      fromModel[0],
      fromModel[1],
      expect.objectContaining({ tokens: [20], free: true }),
    ]);
    expect(h.chosen).toEqual({ suffix: 2, arctic: 2 });
  });

  it("counts chosen drafts across calls", async () => {
    const h = hybrid();
    h.begin(1, SURE);
    h.begin(2, UNSEEN);
    for (let step = 0; step < 3; step++) await h.propose([input(1, SURE, 4), input(2, UNSEEN, 4)]);
    expect(h.chosen).toEqual({ suffix: 3, arctic: 3 });
  });

  it("forwards begin, append and end to the suffix side", async () => {
    const h = hybrid();
    const prompt = [500, 501, 502];
    const tokens = [...prompt, 503, 504, 505, 500, 501, 502];
    h.begin(7, prompt);
    expect(await h.propose([input(7, tokens, 3, { paused: true })])).toEqual([null]);
    // The request's own output becomes draftable once appended.
    h.append(7, tokens.slice(prompt.length));
    const [d] = await h.propose([input(7, tokens, 3, { paused: true })]);
    expect(d?.tokens).toEqual([503, 504, 505]);
    h.end(7);
    expect(h.suffix.cache.isActive(7)).toBe(false);
  });
});
