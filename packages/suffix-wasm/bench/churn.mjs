// Churn: starts, extends and stops many requests against one cache whose
// global tree keeps the last 1000 responses, and prints wasm memory as it
// goes. Memory must plateau once the cache is full (issue bar: 1,000,000
// cycles, flat after warm-up).
//   node bench/churn.mjs [cycles=1000000] [maxCachedRequests=1000]
import { SuffixDecodingCache, defaultRuntime } from "../dist/index.js";

const cycles = Number(process.argv[2] ?? 1_000_000);
const maxCached = Number(process.argv[3] ?? 1000);
const runtime = defaultRuntime();
const cache = new SuffixDecodingCache({ maxCachedRequests: maxCached, runtime });

// Deterministic pseudo-random tokens (mulberry32) from a small vocabulary,
// so trees share structure the way real traffic does.
let state = 42;
function rand() {
  state = (state + 0x6d2b79f5) | 0;
  let t = Math.imul(state ^ (state >>> 15), 1 | state);
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const prompt = new Int32Array(48);
const chunk = new Int32Array(8);
const fill = (a) => { for (let i = 0; i < a.length; i++) a[i] = (rand() * 400) | 0; };

const samples = [];
const every = Math.max(1, Math.floor(cycles / 10));
const t0 = performance.now();
for (let i = 0; i < cycles; i++) {
  fill(prompt);
  cache.startRequest(i, prompt);
  for (let k = 0; k < 4; k++) {
    fill(chunk);
    cache.addActiveResponse(i, chunk);
  }
  cache.stopRequest(i);
  if ((i + 1) % every === 0) {
    samples.push({ cycles: i + 1, wasmBytes: runtime.memoryBytes, heapBytes: process.memoryUsage().heapUsed });
  }
}
const seconds = (performance.now() - t0) / 1000;
console.log(`cycles ${cycles}, maxCachedRequests ${maxCached}, ${(cycles / seconds).toFixed(0)} cycles/s`);
console.log("cycles      wasm memory (bytes)   JS heap (MB)");
for (const s of samples) console.log(`${String(s.cycles).padEnd(11)} ${String(s.wasmBytes).padEnd(21)} ${(s.heapBytes / 1e6).toFixed(1)}`);
const afterWarmup = samples.slice(1).map((s) => s.wasmBytes);
const flat = afterWarmup.every((b) => b === afterWarmup[0]);
console.log(flat ? "wasm memory flat after warm-up: yes" : "wasm memory flat after warm-up: NO");
cache.dispose();
process.exitCode = flat ? 0 : 1;
