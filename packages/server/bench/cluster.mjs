// Cluster: aggregate tokens/s and time to first token through nginx with 2
// replicas sharing a suffix cache (Redis), against 1 replica behind the same
// nginx and 1 replica called directly (the proxy's own cost). Every
// configuration runs at once (idle ones cost nothing); rounds interleave them
// so drift in the machine's load hits all alike; figures are medians over rounds.
// Uses deploy/local-cluster.mjs (needs nginx and redis-server on the machine).

import { startCluster } from "../../../deploy/local-cluster.mjs";
import { DEFAULT_MODEL, PROMPTS, flags, median, percentile, streamCompletion } from "./common.mjs";

const o = flags({
  model: { type: "string", default: DEFAULT_MODEL },
  "speculative-config": { type: "string", default: "{\"method\": \"suffix\"}" },
  clients: { type: "string", default: "8" },
  duration: { type: "string", default: "15" },
  rounds: { type: "string", default: "3" },
  warmup: { type: "string", default: "5" },
  "max-tokens": { type: "string", default: "64" },
  threads: { type: "string", default: "1" },
}, "node bench/cluster.mjs [--model DIR] [--speculative-config JSON] [--clients 8] [--duration 15] [--rounds 3] [--warmup 5] [--max-tokens 64] [--threads 1]");

const clients = Number(o.clients);
const maxTokens = Number(o["max-tokens"]);
const replicaArgs = ["--threads", o.threads, "--max-concurrency", String(clients * 2)];
const common = { model: o.model, speculativeConfig: o["speculative-config"], replicaArgs };

console.log(`cluster bench: ${clients} streaming clients, ${o.duration} s x ${o.rounds} rounds per configuration, max_tokens ${maxTokens}, --threads ${o.threads}`);
const one = await startCluster({ ...common, replicas: 1, shared: false });
const two = await startCluster({ ...common, replicas: 2, shared: true }).catch(async (err) => {
  await one.stop();
  throw err;
});
const configs = [
  { name: "1 replica, direct", url: one.replicas[0].url },
  { name: "1 replica, nginx", url: one.url },
  { name: "2 replicas, nginx, shared cache", url: two.url },
];

/** Closed-loop streaming clients for `seconds`: aggregate tokens/s, TTFT percentiles, errors. */
async function phase(url, seconds) {
  const end = performance.now() + seconds * 1000;
  const ttft = [];
  let tokens = 0;
  let errors = 0;
  let issued = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, async (_, c) => {
    while (performance.now() < end) {
      const k = issued++;
      // The same few code prompts with a distinct tail: repetitive traffic, as suffix decoding expects.
      const prompt = `${PROMPTS[(c + k) % PROMPTS.length]}# ${k}\n`;
      try {
        const r = await streamCompletion(url, { prompt, max_tokens: maxTokens, temperature: 0 });
        ttft.push(r.ttftMs);
        tokens += r.tokens;
      } catch {
        errors++;
      }
    }
  }));
  const seconds_ = (performance.now() - t0) / 1000;
  return { tokensPerSecond: tokens / seconds_, ttftP50: median(ttft), ttftP99: percentile(ttft, 99), requests: ttft.length, errors };
}

try {
  for (const c of configs) await phase(c.url, Number(o.warmup));
  const rounds = configs.map(() => []);
  for (let r = 0; r < Number(o.rounds); r++) {
    for (let i = 0; i < configs.length; i++) {
      const res = await phase(configs[i].url, Number(o.duration));
      rounds[i].push(res);
      console.log(`  round ${r + 1}  ${configs[i].name.padEnd(32)} ${res.tokensPerSecond.toFixed(0).padStart(6)} tokens/s  TTFT p50 ${res.ttftP50.toFixed(1)} ms  p99 ${res.ttftP99.toFixed(1)} ms  (${res.requests} requests, ${res.errors} errors)`);
    }
  }
  console.log("\nmedians over rounds:");
  console.log(`| configuration | tokens/s | TTFT p50 (ms) | TTFT p99 (ms) | requests/round | errors |`);
  console.log(`|---|---|---|---|---|---|`);
  const med = (i, key) => median(rounds[i].map((x) => x[key]));
  configs.forEach((c, i) => {
    const errors = rounds[i].reduce((s, x) => s + x.errors, 0);
    console.log(`| ${c.name} | ${med(i, "tokensPerSecond").toFixed(0)} | ${med(i, "ttftP50").toFixed(1)} | ${med(i, "ttftP99").toFixed(1)} | ${med(i, "requests").toFixed(0)} | ${errors} |`);
  });
  console.log(`\n2 replicas / 1 replica (both through nginx): tokens/s x${(med(2, "tokensPerSecond") / med(1, "tokensPerSecond")).toFixed(2)}, ` +
    `TTFT p50 x${(med(2, "ttftP50") / med(1, "ttftP50")).toFixed(2)}; on ${(await import("node:os")).availableParallelism()} cores`);
} finally {
  await Promise.all([one.stop(), two.stop()]);
}
