// Checks run inside the browser (main thread and a Web Worker) against the
// package's ESM build, loaded from a URL. `lib` is the imported module.

// The README example; returns what it drafted.
export function readmeExample(lib, runtime) {
  const cache = new lib.SuffixDecodingCache({ maxTreeDepth: 64, maxCachedRequests: 1000, runtime });
  cache.startRequest("req-1", [101, 102, 103]);
  cache.addActiveResponse("req-1", [7, 8, 9, 10, 11, 12]);
  cache.stopRequest("req-1");
  cache.startRequest("req-2", [201, 202]);
  cache.addActiveResponse("req-2", [7, 8, 9]);
  const draft = cache.speculate("req-2", [201, 202, 7, 8, 9], { maxSpecFactor: 2 });
  const out = { tokenIds: Array.from(draft.tokenIds), isInt32Array: draft.tokenIds instanceof Int32Array, matchLen: draft.matchLen };
  cache.dispose();
  return out;
}

// Replays trace rows with the default configuration and compares every
// draft with the reference's (path mode: tokens, parents, probabilities).
export function goldenDifferential(lib, rows, golden, runtime) {
  const trace = rows.map((r) => ({ prompt: Int32Array.from(r.prompt), response: Int32Array.from(r.response) }));
  const mismatches = [];
  let i = 0;
  lib.simulate(trace, lib.DEFAULT_SIMULATION_CONFIG, (r) => {
    const g = golden[i++];
    const d = r.draft;
    const ok = g && g.request_id === r.requestId && g.step === r.step && d.matchLen === g.match_len &&
      r.numAccepted === g.num_accept_toks &&
      JSON.stringify(Array.from(d.tokenIds)) === JSON.stringify(g.token_ids) &&
      JSON.stringify(Array.from(d.parents)) === JSON.stringify(g.parents) &&
      g.probs.every((p, k) => Math.abs(p - d.probs[k]) <= 1e-6);
    if (!ok && mismatches.length < 3) mismatches.push({ step: i - 1, got: Array.from(d.tokenIds), want: g && g.token_ids });
  }, runtime);
  return { steps: i, mismatches };
}

// Starts, extends and stops requests on one cache; wasm memory (the
// instance's linear memory) must not grow once the cache is full.
export function churn(lib, runtime, warmup, cycles) {
  const cache = new lib.SuffixDecodingCache({ maxCachedRequests: 200, runtime });
  let seed = 11;
  const next = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return (seed >>> 8) % 300;
  };
  const prompt = new Int32Array(48);
  const chunk = new Int32Array(8);
  const memory = runtime.exports.memory;
  let before = 0;
  for (let i = 0; i < warmup + cycles; i++) {
    if (i === warmup) before = memory.buffer.byteLength;
    for (let k = 0; k < prompt.length; k++) prompt[k] = next();
    cache.startRequest(i, prompt);
    for (let step = 0; step < 4; step++) {
      for (let k = 0; k < chunk.length; k++) chunk[k] = next();
      cache.addActiveResponse(i, chunk);
    }
    cache.stopRequest(i);
  }
  const after = memory.buffer.byteLength;
  const sound = cache.checkIntegrity();
  cache.dispose();
  return { before, after, cycles, sound };
}

// The main-thread run: the package imported as an ES module from its URL,
// the runtime loaded asynchronously from the wasm file's URL (synchronous
// compilation of large modules is not allowed on a browser's main thread).
export async function mainThread(data) {
  const lib = await import("../../dist/index.js");
  const { wasmUrl } = await import("../../dist/wasm.js");
  const runtime = await lib.loadSuffixRuntime({ url: wasmUrl });
  return {
    wasmUrl: String(wasmUrl),
    readme: readmeExample(lib, runtime),
    golden: goldenDifferential(lib, data.rows, data.golden, runtime),
    churn: churn(lib, runtime, data.warmup, data.cycles),
  };
}
