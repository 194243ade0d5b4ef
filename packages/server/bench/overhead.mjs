// Server overhead: tokens/s of the same generations through HTTP streaming
// (a `glimpse serve` child on loopback, read by a node:http client) and
// through the runtime in-process. Requests are paired and alternate in
// order, so background load on the machine hits both sides alike; the figure
// is total tokens over total time for each side, plus the median of the
// per-pair ratios.

import { Engine } from "@glimpse/runtime-cuda";
import { DEFAULT_MODEL, PROMPTS, flags, median, startServer, streamCompletion } from "./common.mjs";

const o = flags({
  model: { type: "string", default: DEFAULT_MODEL },
  "serve-flags": { type: "string", default: "" },
  "speculative-config": { type: "string", default: "none" },
  rounds: { type: "string", default: "5" },
  "max-tokens": { type: "string", default: "256" },
  threads: { type: "string" },
}, "node bench/overhead.mjs [--model DIR] [--serve-flags='--stream-coalesce-ms 0 ...'] [--speculative-config JSON|none] [--rounds 5] [--max-tokens 256] [--threads N (both sides)]");

const spec = o["speculative-config"] === "none" ? null : o["speculative-config"];
const maxTokens = Number(o["max-tokens"]);
const engine = await Engine.load(o.model, { speculativeConfig: spec, promptCacheMiB: 0, ...(o.threads ? { intraOpThreads: Number(o.threads) } : {}) });
const extra = [...o["serve-flags"].split(" ").filter(Boolean), ...(o.threads ? ["--threads", o.threads] : [])];
const server = await startServer({ model: o.model, speculativeConfig: o["speculative-config"], extra });

// Greedy with EOS ignored: both sides generate exactly the same tokens.
async function inProcess(prompt) {
  const t0 = performance.now();
  let tokens = 0;
  for await (const chunk of engine.stream({ prompt, maxTokens, temperature: 0, ignoreEos: true })) tokens += chunk.tokenIds.length;
  return { tokens, ms: performance.now() - t0 };
}

async function overHttp(prompt) {
  const r = await streamCompletion(server.url, { prompt, max_tokens: maxTokens, temperature: 0, ignore_eos: true });
  return { tokens: r.tokens, ms: r.ms };
}

try {
  for (const prompt of PROMPTS) { // warm-up both
    await inProcess(prompt);
    await overHttp(prompt);
  }
  const local = { tokens: 0, ms: 0 };
  const http = { tokens: 0, ms: 0 };
  const ratios = [];
  let pair = 0;
  for (let r = 0; r < Number(o.rounds); r++) {
    for (const prompt of PROMPTS) {
      const first = pair++ % 2 === 0;
      const a = first ? await inProcess(prompt) : null;
      const b = await overHttp(prompt);
      const a2 = a ?? (await inProcess(prompt));
      local.tokens += a2.tokens;
      local.ms += a2.ms;
      http.tokens += b.tokens;
      http.ms += b.ms;
      ratios.push((b.tokens / b.ms) / (a2.tokens / a2.ms));
    }
  }
  const tpsLocal = local.tokens / (local.ms / 1000);
  const tpsHttp = http.tokens / (http.ms / 1000);
  console.log(JSON.stringify({
    speculative_config: spec,
    requests_per_side: ratios.length,
    max_tokens: maxTokens,
    in_process_tokens_per_s: Number(tpsLocal.toFixed(1)),
    http_streaming_tokens_per_s: Number(tpsHttp.toFixed(1)),
    overhead_pct: Number((100 * (1 - tpsHttp / tpsLocal)).toFixed(1)),
    median_pair_overhead_pct: Number((100 * (1 - median(ratios))).toFixed(1)),
  }, null, 2));
} finally {
  await server.stop();
  await engine.close();
}
