// Load: N concurrent streaming clients against a `glimpse serve` child on
// loopback for a fixed time (and at most a fixed number of requests).
// Reports errors, p50/p99 time to first token, tokens/s, and the server's
// RSS before and after (after a warm-up, so one-time allocations don't count).
// The default config caps the global suffix cache at 256 responses: the cache
// grows by design until its cap, and the warm-up fills it, so before/after
// compares steady states. RSS is read the same way both times: after
// `--settle` idle seconds (V8 shrinks its heap once allocation stops), the
// median of three reads a second apart.

import { DEFAULT_MODEL, PROMPTS, flags, median, percentile, memory, startServer, streamCompletion } from "./common.mjs";

const o = flags({
  model: { type: "string", default: DEFAULT_MODEL },
  "serve-flags": { type: "string", default: "" },
  "speculative-config": { type: "string", default: "{\"method\": \"suffix\", \"suffix_cache_max_requests\": 256}" },
  clients: { type: "string", default: "16" },
  duration: { type: "string", default: "60" },
  warmup: { type: "string", default: "10" },
  settle: { type: "string", default: "10" },
  "max-tokens": { type: "string", default: "64" },
  "max-requests": { type: "string", default: "100000" },
}, "node bench/load.mjs [--model DIR] [--serve-flags='--stream-coalesce-ms 0 ...'] [--speculative-config JSON|none] [--clients 16] [--duration 60] [--warmup 10] [--settle 10] [--max-tokens 64] [--max-requests 100000]");

const clients = Number(o.clients);
const maxTokens = Number(o["max-tokens"]);
const maxRequests = Number(o["max-requests"]);

const server = await startServer({ model: o.model, speculativeConfig: o["speculative-config"], extra: ["--max-concurrency", String(clients * 2), ...o["serve-flags"].split(" ").filter(Boolean)] });

async function phase(seconds) {
  const end = performance.now() + seconds * 1000;
  const results = [];
  const errors = [];
  let issued = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, async (_, c) => {
    for (let i = 0; performance.now() < end && issued < maxRequests; i++) {
      issued++;
      const k = c * 7919 + i;
      const body = { prompt: PROMPTS[k % PROMPTS.length], max_tokens: maxTokens, temperature: k % 2 === 0 ? 0 : 0.8, seed: k };
      try {
        results.push(await streamCompletion(server.url, body));
      } catch (err) {
        errors.push(String(err.message ?? err));
      }
    }
  }));
  const wall = (performance.now() - t0) / 1000;
  return { results, errors, wall };
}

const mb = (bytes) => Math.round(bytes / 2 ** 20);
const sleep = (s) => new Promise((r) => setTimeout(r, s * 1000));

async function settledMemory() {
  await sleep(Math.max(0, Number(o.settle) - 2));
  const reads = [];
  for (let i = 0; i < 3; i++) {
    reads.push(await memory(server.url));
    if (i < 2) await sleep(1);
  }
  return { rss: median(reads.map((r) => r.rss)), heapUsed: median(reads.map((r) => r.heapUsed)) };
}

try {
  await phase(Number(o.warmup));
  const before = await settledMemory();
  const { results, errors, wall } = await phase(Number(o.duration));
  const after = await settledMemory();
  const tokens = results.reduce((n, r) => n + r.tokens, 0);
  const ttft = results.map((r) => r.ttftMs);
  const perRequest = results.filter((r) => r.tokens > 1).map((r) => (r.tokens - 1) / ((r.ms - r.ttftMs) / 1000));
  const summary = {
    clients,
    duration_s: Number(wall.toFixed(1)),
    requests: results.length,
    errors: errors.length,
    first_errors: errors.slice(0, 3),
    ttft_ms: { p50: Number(median(ttft).toFixed(1)), p99: Number(percentile(ttft, 99).toFixed(1)) },
    tokens_per_s_total: Number((tokens / wall).toFixed(1)),
    tokens_per_s_per_request_p50: Number(median(perRequest).toFixed(1)),
    rss_mb: { before: mb(before.rss), after: mb(after.rss), change_pct: Number((100 * (after.rss - before.rss) / before.rss).toFixed(1)) },
    js_heap_used_mb: { before: mb(before.heapUsed), after: mb(after.heapUsed) },
  };
  console.log(JSON.stringify(summary, null, 2));
  // Growth is what a leak shows; a smaller RSS after the run (V8 returning
  // heap pages it had kept since the warm-up) is no failure.
  process.exitCode = errors.length === 0 && summary.rss_mb.change_pct <= 10 ? 0 : 1;
} finally {
  await server.stop();
}
