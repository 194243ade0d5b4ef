// Server overhead: tokens/s of the same generations through HTTP streaming
// (a `glimpse serve` child on loopback) and through the runtime in-process.
// Rounds alternate between the two so that background load hits both alike.

import { Engine } from "@glimpse/runtime-cuda";
import { DEFAULT_MODEL, PROMPTS, cpuSeconds, flags, median, startServer, streamCompletion } from "./common.mjs";

const o = flags({
  model: { type: "string", default: DEFAULT_MODEL },
  "serve-flags": { type: "string", default: "" },
  "speculative-config": { type: "string", default: "none" },
  rounds: { type: "string", default: "5" },
  "max-tokens": { type: "string", default: "128" },
}, "node bench/overhead.mjs [--model DIR] [--serve-flags='--stream-coalesce-ms 0 ...'] [--speculative-config JSON|none] [--rounds 5] [--max-tokens 128]");

const spec = o["speculative-config"] === "none" ? null : o["speculative-config"];
const maxTokens = Number(o["max-tokens"]);
const engine = await Engine.load(o.model, { speculativeConfig: spec });
const server = await startServer({ model: o.model, speculativeConfig: o["speculative-config"], extra: o["serve-flags"].split(" ").filter(Boolean) });

// Greedy, EOS ignored: both sides generate exactly the same tokens.
// Besides tokens/s (wall clock, sensitive to other load on the machine) each
// round reports CPU milliseconds per token: the bench process's own for the
// runtime in-process, the server process's for HTTP (the client's excluded).
async function inProcess() {
  let tokens = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  for (const prompt of PROMPTS) {
    const stream = engine.stream({ prompt, maxTokens, temperature: 0, ignoreEos: true });
    for await (const chunk of stream) tokens += chunk.tokenIds.length;
  }
  const c = process.cpuUsage(c0);
  return { tps: tokens / ((performance.now() - t0) / 1000), cpuMsPerToken: (c.user + c.system) / 1000 / tokens };
}

async function overHttp() {
  let tokens = 0;
  const t0 = performance.now();
  const c0 = await cpuSeconds(server.url);
  for (const prompt of PROMPTS) tokens += (await streamCompletion(server.url, { prompt, max_tokens: maxTokens, temperature: 0, ignore_eos: true })).tokens;
  const wall = (performance.now() - t0) / 1000;
  return { tps: tokens / wall, cpuMsPerToken: ((await cpuSeconds(server.url)) - c0) * 1000 / tokens };
}

try {
  await inProcess(); // warm-up both
  await overHttp();
  const local = [];
  const http = [];
  for (let r = 0; r < Number(o.rounds); r++) {
    local.push(await inProcess());
    http.push(await overHttp());
  }
  const a = median(local.map((r) => r.tps));
  const b = median(http.map((r) => r.tps));
  const ca = median(local.map((r) => r.cpuMsPerToken));
  const cb = median(http.map((r) => r.cpuMsPerToken));
  console.log(JSON.stringify({
    speculative_config: spec,
    requests_per_round: PROMPTS.length,
    max_tokens: maxTokens,
    in_process_tokens_per_s: Number(a.toFixed(1)),
    http_streaming_tokens_per_s: Number(b.toFixed(1)),
    overhead_pct: Number((100 * (a - b) / a).toFixed(1)),
    cpu_ms_per_token: { in_process: Number(ca.toFixed(4)), server: Number(cb.toFixed(4)), overhead_pct: Number((100 * (cb - ca) / ca).toFixed(1)) },
    rounds_tokens_per_s: { in_process: local.map((r) => Math.round(r.tps)), http: http.map((r) => Math.round(r.tps)) },
  }, null, 2));
} finally {
  await server.stop();
  await engine.close();
}
