// Behaviour of the public API: bookkeeping, eviction order, clear errors for
// bad input, and loading in every supported way.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import {
  SuffixDecodingCache, SuffixInputError, SuffixTree, loadSuffixRuntime, createSuffixRuntime,
} from "../src/index.js";

const pkgDir = fileURLToPath(new URL("..", import.meta.url));

describe("SuffixDecodingCache", () => {
  it("drafts the continuation seen in the prompt", () => {
    const cache = new SuffixDecodingCache();
    cache.startRequest("a", [5, 6, 7, 8, 9, 5, 6]);
    const draft = cache.speculate("a", [5, 6, 7, 8, 9, 5, 6]);
    expect(Array.from(draft.tokenIds)).toEqual([7, 8]);
    expect(Array.from(draft.parents)).toEqual([-1, 0]);
    expect(draft.matchLen).toBe(2);
    cache.dispose();
  });

  it("drafts from earlier responses through the global tree", () => {
    const cache = new SuffixDecodingCache();
    cache.startRequest(1, [100]);
    cache.addActiveResponse(1, [1, 2, 3, 4, 5, 6]);
    cache.stopRequest(1);
    cache.startRequest(2, [200]);
    const draft = cache.speculate(2, [200, 1, 2, 3]);
    expect(Array.from(draft.tokenIds)).toEqual([4, 5, 6]);
    cache.dispose();
  });

  it("evicts cached responses first in, first out", () => {
    const cache = new SuffixDecodingCache({ maxCachedRequests: 2 });
    for (const id of ["x", "y", "z"]) {
      cache.startRequest(id, [1]);
      cache.addActiveResponse(id, [2, 3]);
      cache.stopRequest(id);
    }
    expect(cache.cachedRequests).toEqual(["y", "z"]);
    expect(cache.activeRequests).toEqual([]);
    cache.evictCachedResponse("y");
    expect(cache.cachedRequests).toEqual(["z"]);
    cache.dispose();
  });

  it("keeps no global tree when maxCachedRequests is 0", () => {
    const cache = new SuffixDecodingCache({ maxCachedRequests: 0 });
    cache.startRequest(1, [9]);
    cache.addActiveResponse(1, [1, 2, 3]);
    cache.stopRequest(1);
    cache.startRequest(2, [1, 2]);
    expect(cache.cachedRequests).toEqual([]);
    expect(cache.speculate(2, [1, 2]).tokenIds.length).toBe(0);
    cache.dispose();
  });

  it("truncates the context to maxTreeDepth", () => {
    const cache = new SuffixDecodingCache({ maxTreeDepth: 4 });
    cache.startRequest(1, [1, 2, 3, 4, 5, 1, 2, 3]);
    const context = new Int32Array(1000).fill(7);
    context.set([1, 2, 3], 997);
    // Only [7, 1, 2, 3] is matched: the best draft continues [2, 3].
    expect(Array.from(cache.speculate(1, context).tokenIds)).toEqual([4, 5]);
    expect(cache.speculate(1, context)).toEqual(cache.speculate(1, [7, 1, 2, 3]));
    cache.dispose();
  });

  it("rejects bad input with errors naming the field", () => {
    const cache = new SuffixDecodingCache({ maxTreeDepth: 8 });
    const bad: [() => unknown, RegExp][] = [
      [() => new SuffixDecodingCache({ maxTreeDepth: -1 }), /maxTreeDepth: must be an integer in \[1, /],
      [() => new SuffixDecodingCache({ maxTreeDepth: 2.5 }), /maxTreeDepth/],
      [() => new SuffixDecodingCache({ maxCachedRequests: -2 }), /maxCachedRequests: must be an integer in \[-1, /],
      [() => cache.startRequest("r", [1, 2.5]), /promptIds\[1\]: must be an integer token id .* got 2\.5/],
      [() => cache.startRequest("r", [2 ** 31]), /promptIds\[0\]: must be an integer token id in \[-2147483648, 2147483647\]/],
      [() => cache.startRequest("r", [Number.NaN]), /promptIds\[0\].*got NaN/],
      [() => cache.startRequest("r", "hello" as unknown as number[]), /promptIds: must be an array/],
      [() => cache.startRequest({} as unknown as string, [1]), /reqId: must be a string or a finite number/],
      [() => cache.addActiveResponse("nope", [1]), /reqId: request "nope" is not active/],
      [() => cache.stopRequest("nope"), /not active/],
      [() => cache.evictCachedResponse("nope"), /reqId: request "nope" is not cached/],
      [() => cache.speculate("nope", [1]), /not active/],
    ];
    for (const [fn, message] of bad) expect(fn).toThrow(message);
    cache.startRequest("r", [1]);
    expect(() => cache.startRequest("r", [1])).toThrow(/reqId: request "r" is already active/);
    const opts: [object, RegExp][] = [
      [{ maxSpecFactor: Number.NaN }, /maxSpecFactor: must be a finite number in \[0, Infinity\], got NaN/],
      [{ maxSpecOffset: Infinity }, /maxSpecOffset: must be a finite number/],
      [{ minTokenProb: 1.5 }, /minTokenProb: must be a finite number in \[0, 1\]/],
      [{ maxSpecTokens: -1 }, /maxSpecTokens: must be an integer/],
      [{ useTreeSpec: "yes" }, /useTreeSpec: must be true or false/],
    ];
    for (const [o, message] of opts) expect(() => cache.speculate("r", [1, 1], o)).toThrow(message);
    expect(() => cache.addActiveResponse("r", [1, -0.5])).toThrow(SuffixInputError);
    // The cache still works after all of that.
    cache.addActiveResponse("r", [2, 1]);
    expect(Array.from(cache.speculate("r", [1]).tokenIds)).toEqual([]);
    expect(Array.from(cache.speculate("r", [2, 1]).tokenIds)).toEqual([2]);
    expect(cache.checkIntegrity()).toBeNull();
    cache.dispose();
  });

  it("refuses use after dispose", () => {
    const tree = new SuffixTree(4);
    tree.dispose();
    expect(() => tree.extend(0, [1])).toThrow(/after dispose/);
  });
});

describe("loading", () => {
  it("instantiates from bytes, from a module and from the embedded copy", async () => {
    const bytes = readFileSync(`${pkgDir}/build/suffix_tree.wasm`);
    for (const runtime of [
      await loadSuffixRuntime({ bytes }),
      await loadSuffixRuntime({ module: await WebAssembly.compile(bytes) }),
      await loadSuffixRuntime(),
      createSuffixRuntime(),
    ]) {
      const tree = new SuffixTree(8, runtime);
      tree.extend(0, [1, 2, 3, 1, 2]);
      expect(Array.from(tree.speculate([0, 1, 2]).tokenIds)).toEqual([3, 1]);
      tree.dispose();
    }
  });

  it("loads from CommonJS and from the ESM build in a plain Node process", () => {
    const cjs = execFileSync(process.execPath, [
      "-e",
      `const { SuffixDecodingCache } = require(${JSON.stringify(`${pkgDir}/dist/cjs/index.cjs`)});
       const c = new SuffixDecodingCache(); c.startRequest(1, [4, 5, 6, 4, 5]);
       process.stdout.write(JSON.stringify(Array.from(c.speculate(1, [6, 4, 5]).tokenIds)));`,
    ]).toString();
    expect(cjs).toBe("[6,4]");
    const esm = execFileSync(process.execPath, [
      "--input-type=module",
      "-e",
      `const { SuffixDecodingCache } = await import(${JSON.stringify(`${pkgDir}/dist/index.js`)});
       const c = new SuffixDecodingCache(); c.startRequest(1, [4, 5, 6, 4, 5]);
       process.stdout.write(JSON.stringify(Array.from(c.speculate(1, [6, 4, 5]).tokenIds)));`,
    ]).toString();
    expect(esm).toBe("[6,4]");
  });
});
