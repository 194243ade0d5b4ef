// The debug build (asconfig target "debug", built by `npm run build`) keeps
// the assert()s on each case's preconditions in assembly/append.ts and
// remove.ts. Here it replays real workloads with every one of them checked,
// agrees with the release build op for op, and traps on a broken
// precondition, which the release build does not even look at.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { SuffixTree, createSuffixRuntime, loadSuffixRuntime, simulate, type SuffixRuntime } from "../src/index.js";
import { goldenSimulationConfig, readJsonl, readTrace, sharedPath } from "./shared-data.js";
import { TreeMemory } from "./tree-memory.js";

const buildDir = fileURLToPath(new URL("../build/", import.meta.url));
const debugBytes = readFileSync(`${buildDir}suffix_tree.debug.wasm`);
const releaseBytes = readFileSync(`${buildDir}suffix_tree.wasm`);

let debug: SuffixRuntime;
beforeAll(async () => {
  debug = await loadSuffixRuntime({ bytes: debugBytes });
});

describe("debug build", () => {
  it("replays the sql.evict reference sample (with evictions) with identical drafts", { timeout: 120_000 }, () => {
    const summary = JSON.parse(readFileSync(sharedPath("golden/sql.evict.summary.json"), "utf8"));
    const c = summary.config;
    const golden = readJsonl<{ token_ids: number[]; parents: number[]; match_len: number }>(sharedPath("golden/sql.evict.drafts.jsonl"));
    const rows = readTrace("sql", summary.num_lines);
    const drafts: { token_ids: number[]; parents: number[]; match_len: number }[] = [];
    simulate(
      rows,
      goldenSimulationConfig(c),
      (r) => drafts.push({ token_ids: Array.from(r.draft.tokenIds), parents: Array.from(r.draft.parents), match_len: r.draft.matchLen }),
      debug,
    );
    expect(drafts.length).toBe(golden.length);
    expect(drafts).toEqual(golden.map((g) => ({ token_ids: g.token_ids, parents: g.parents, match_len: g.match_len })));
  });

  it("agrees with the release build on random extend/remove/speculate sequences", { timeout: 120_000 }, () => {
    const release = createSuffixRuntime();
    const token = fc.integer({ min: 0, max: 3 });
    const op = fc.oneof(
      { weight: 4, arbitrary: fc.record({ kind: fc.constant("extend" as const), seq: fc.integer({ min: 0, max: 4 }), tokens: fc.array(token, { maxLength: 12 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant("remove" as const), seq: fc.integer({ min: 0, max: 4 }) }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant("speculate" as const), context: fc.array(token, { maxLength: 10 }), useTreeSpec: fc.boolean() }) },
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 }), fc.array(op, { maxLength: 60 }), (maxDepth, ops) => {
        const d = new SuffixTree(maxDepth, debug);
        const r = new SuffixTree(maxDepth, release);
        try {
          for (const o of ops) {
            if (o.kind === "extend") {
              d.extend(o.seq, o.tokens);
              r.extend(o.seq, o.tokens);
            } else if (o.kind === "remove") {
              expect(d.remove(o.seq)).toBe(r.remove(o.seq));
            } else {
              const opts = { minTokenProb: 0, useTreeSpec: o.useTreeSpec };
              expect(d.speculate(o.context, opts)).toEqual(r.speculate(o.context, opts));
            }
          }
          expect(d.checkIntegrity()).toBeNull();
        } finally {
          d.dispose();
          r.dispose();
        }
      }),
      { numRuns: 1000 },
    );
  });

  it("traps on a broken precondition, which the release build compiles out", async () => {
    const message = "append: an active suffix's record is stale";
    const utf16 = (s: string) => Buffer.from(s, "utf16le");
    expect(debugBytes.includes(utf16(message))).toBe(true);
    expect(releaseBytes.includes(utf16(message))).toBe(false);
    const release = await loadSuffixRuntime({ bytes: releaseBytes });
    for (const rt of [debug, release]) {
      // Raw handles: no finalizer will ever free these broken trees.
      const h = rt.exports.treeNew(8);
      rt.exports.treeExtend(h, 0, rt.writeTokens([1, 2, 3]));
      const m = new TreeMemory(rt, h);
      const active = m.get(m.get(h, "Tree.firstSeq"), "Seq.endpoints");
      m.set(active, "Endpoint.idx", 0);
      const append = () => rt.exports.treeAppend(h, 0, 4);
      if (rt === debug) expect(append).toThrow(`suffix-wasm: internal assertion failed: ${message} (assembly/append.ts:`);
      else expect(append).not.toThrow();
    }
  });
});
