// Property tests: random interleavings of operations agree with the brute-force
// reference model, and the integrity checker passes after every step.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { SuffixDecodingCache, SuffixTree } from "../src/index.js";
import { explainIllegalDraft, ReferenceTree, type DraftRules } from "./reference-model.js";

// A small alphabet and shallow trees make repeats, ties, splits and merges common.
const token = fc.integer({ min: 0, max: 3 });
const tokens = (max: number) => fc.array(token, { minLength: 0, maxLength: max });
const rules: fc.Arbitrary<DraftRules> = fc.record({
  maxSpecTokens: fc.integer({ min: 0, max: 12 }),
  maxSpecFactor: fc.constantFrom(0.5, 1, 2, 4),
  maxSpecOffset: fc.constantFrom(-1, 0, 0.5, 2),
  minTokenProb: fc.constantFrom(0, 0.1, 0.3, 0.6),
  useTreeSpec: fc.boolean(),
});

type TreeOp =
  | { kind: "extend"; seq: number; tokens: number[] }
  | { kind: "remove"; seq: number }
  | { kind: "speculate"; context: number[]; rules: DraftRules };

const treeOp: fc.Arbitrary<TreeOp> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("extend" as const), seq: fc.integer({ min: 0, max: 4 }), tokens: tokens(12) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("remove" as const), seq: fc.integer({ min: 0, max: 4 }) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("speculate" as const), context: tokens(10), rules }) },
);

describe("SuffixTree against the reference model", () => {
  it("agrees on random extend/remove/speculate sequences", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 }), fc.array(treeOp, { maxLength: 60 }), (maxDepth, ops) => {
        const tree = new SuffixTree(maxDepth);
        const ref = new ReferenceTree(maxDepth);
        try {
          for (const op of ops) {
            if (op.kind === "extend") {
              tree.extend(op.seq, op.tokens);
              ref.extend(op.seq, op.tokens);
            } else if (op.kind === "remove") {
              expect(tree.remove(op.seq)).toBe(ref.seqs.has(op.seq));
              ref.remove(op.seq);
            } else {
              const draft = tree.speculate(op.context, op.rules);
              const why = explainIllegalDraft(ref, op.context, draft, op.rules);
              expect(why, JSON.stringify({ draft: { ...draft, tokenIds: [...draft.tokenIds], parents: [...draft.parents], probs: [...draft.probs] } })).toBeNull();
            }
            expect(tree.checkIntegrity()).toBeNull();
            expect(tree.numSequences).toBe(ref.seqs.size);
            for (const [id, s] of ref.seqs) expect(tree.sequenceLength(id)).toBe(s.length);
          }
        } finally {
          tree.dispose();
        }
      }),
      { numRuns: 1000 },
    );
  });
});

type CacheOp =
  | { kind: "start"; req: number; prompt: number[] }
  | { kind: "add"; req: number; tokens: number[] }
  | { kind: "speculate"; req: number; extra: number[]; rules: DraftRules }
  | { kind: "stop"; req: number }
  | { kind: "evict"; req: number };

const req = fc.integer({ min: 0, max: 5 });
const cacheOp: fc.Arbitrary<CacheOp> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("start" as const), req, prompt: tokens(10) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("add" as const), req, tokens: tokens(6) }) },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant("speculate" as const), req, extra: tokens(3), rules }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("stop" as const), req }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("evict" as const), req }) },
);

// The cache semantics, spelled out naively.
class ReferenceCache {
  readonly local = new Map<number, ReferenceTree>();
  readonly context = new Map<number, number[]>();
  readonly global: ReferenceTree;
  readonly cached: number[] = []; // request ids, oldest first
  readonly seqOf = new Map<number, number>();
  private nextSeq = 0;
  constructor(readonly depth: number, readonly maxCached: number) {
    this.global = new ReferenceTree(depth);
  }
  start(id: number, prompt: number[]): void {
    const t = new ReferenceTree(this.depth);
    t.extend(0, prompt);
    this.local.set(id, t);
    this.context.set(id, [...prompt]);
    if (this.maxCached === 0) return;
    if (this.seqOf.has(id)) this.evict(id);
    const seq = this.nextSeq++;
    this.seqOf.set(id, seq);
    this.cached.push(id);
    while (this.maxCached > 0 && this.cached.length > this.maxCached) this.evict(this.cached[0]);
  }
  add(id: number, tokens: number[]): void {
    this.local.get(id)!.extend(0, tokens);
    this.context.get(id)!.push(...tokens);
    const seq = this.seqOf.get(id);
    if (seq !== undefined) this.global.extend(seq, tokens);
  }
  evict(id: number): void {
    this.global.remove(this.seqOf.get(id)!);
    this.seqOf.delete(id);
    this.cached.splice(this.cached.indexOf(id), 1);
  }
}

describe("SuffixDecodingCache against the reference model", () => {
  it("agrees on random start/add/speculate/stop/evict sequences", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 6 }),
        fc.integer({ min: -1, max: 3 }),
        fc.array(cacheOp, { maxLength: 60 }),
        (depth, maxCached, ops) => {
          const cache = new SuffixDecodingCache({ maxTreeDepth: depth, maxCachedRequests: maxCached });
          const ref = new ReferenceCache(depth, maxCached);
          try {
            for (const op of ops) {
              const active = ref.local.has(op.req);
              if (op.kind === "start") {
                if (active) {
                  expect(() => cache.startRequest(op.req, op.prompt)).toThrow(/already active/);
                } else {
                  cache.startRequest(op.req, op.prompt);
                  ref.start(op.req, op.prompt);
                }
              } else if (!active && op.kind !== "evict") {
                expect(() => (op.kind === "stop" ? cache.stopRequest(op.req) : cache.addActiveResponse(op.req, [1]))).toThrow(/not active/);
              } else if (op.kind === "add") {
                cache.addActiveResponse(op.req, op.tokens);
                ref.add(op.req, op.tokens);
              } else if (op.kind === "stop") {
                cache.stopRequest(op.req);
                ref.local.delete(op.req);
                ref.context.delete(op.req);
              } else if (op.kind === "evict") {
                if (ref.seqOf.has(op.req)) {
                  cache.evictCachedResponse(op.req);
                  ref.evict(op.req);
                } else {
                  expect(() => cache.evictCachedResponse(op.req)).toThrow(/not cached/);
                }
              } else {
                const context = [...ref.context.get(op.req)!, ...op.extra];
                const draft = cache.speculate(op.req, context, op.rules);
                // Both trees see the last maxTreeDepth tokens only.
                const seen = context.slice(Math.max(0, context.length - depth));
                const local = explainIllegalDraft(ref.local.get(op.req)!, seen, draft, op.rules);
                const global = maxCached === 0 ? "global tree disabled" : explainIllegalDraft(ref.global, seen, draft, op.rules);
                expect(local === null || global === null, `local: ${local}; global: ${global}`).toBe(true);
              }
              expect(cache.checkIntegrity()).toBeNull();
              expect(cache.activeRequests.sort()).toEqual([...ref.local.keys()].sort());
              expect(cache.cachedRequests).toEqual(ref.cached);
            }
          } finally {
            cache.dispose();
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
