// Suffix decoding against plain decoding under concurrency: two `glimpse serve`
// children (plain, and suffix), each driven in turn by N closed-loop
// streaming clients, in interleaved rounds (the order flips each round), on a
// mixed code workload (code, JSON and prose prompts, greedy and sampled) and
// on the rewrite workload. Per workload: aggregate tokens/s of each server
// per round, and the median of the per-round ratios suffix / plain. The
// machine's load average is printed with each round: on a shared machine,
// compare ratios, not absolute figures.

import { loadavg } from "node:os";
import { WORKLOADS } from "../../runtime-cuda/bench/workloads.mjs";
import { DEFAULT_MODEL, flags, median, startServer, streamCompletion } from "./common.mjs";

const o = flags({
  model: { type: "string", default: DEFAULT_MODEL },
  clients: { type: "string", default: "16" },
  rounds: { type: "string", default: "3" },
  seconds: { type: "string", default: "12" },
  warmup: { type: "string", default: "4" },
  "serve-flags": { type: "string", default: "" },
  "speculative-config": { type: "string", default: "{\"method\": \"suffix\"}" },
  workloads: { type: "string", default: "mixed,rewrite" },
}, "node bench/concurrent-spec.mjs [--model DIR] [--clients 16] [--rounds 3] [--seconds 12] [--warmup 4] [--serve-flags '...'] [--speculative-config JSON] [--workloads mixed,rewrite]");

const clients = Number(o.clients);
const byName = Object.fromEntries(WORKLOADS.map((w) => [w.name, w]));
const mixed = ["code", "json", "text"].flatMap((n) => byName[n].prompts.map((p) => ({ prompt: p, maxTokens: byName[n].maxTokens })));
const LOADS = {
  mixed: { items: mixed, sampled: true },
  rewrite: { items: byName.rewrite.prompts.map((p) => ({ prompt: p, maxTokens: byName.rewrite.maxTokens })), sampled: false },
};
const chosen = o.workloads.split(",").map((n) => {
  if (!LOADS[n]) throw new Error(`unknown workload ${n} (mixed, rewrite)`);
  return n;
});

/** N closed-loop clients for `seconds` (requests in flight at the deadline run to their end); tokens/s over the whole wall time. */
async function drive(url, load, seconds, salt) {
  const end = performance.now() + seconds * 1000;
  const t0 = performance.now();
  let tokens = 0;
  let requests = 0;
  let errors = 0;
  const messages = [];
  await Promise.all(Array.from({ length: clients }, async (_, c) => {
    for (let i = 0; performance.now() < end; i++) {
      const k = c * 31 + i + salt;
      const item = load.items[k % load.items.length];
      const sampled = load.sampled && k % 2 === 1;
      try {
        const r = await streamCompletion(url, { prompt: item.prompt, max_tokens: item.maxTokens, temperature: sampled ? 0.8 : 0, seed: k });
        tokens += r.tokens;
        requests++;
      } catch (err) {
        errors++;
        if (messages.length < 3) messages.push(String(err?.message ?? err).slice(0, 200));
      }
    }
  }));
  const wall = (performance.now() - t0) / 1000;
  return { tps: tokens / wall, requests, errors, messages };
}

const extra = ["--max-concurrency", String(Math.max(64, clients * 2)), ...o["serve-flags"].split(" ").filter(Boolean)];
const servers = {
  plain: await startServer({ model: o.model, speculativeConfig: "none", extra }),
  suffix: await startServer({ model: o.model, speculativeConfig: o["speculative-config"], extra }),
};
const fmt = (x) => Number(x.toFixed(1));
try {
  const summary = {};
  for (const name of chosen) {
    const load = LOADS[name];
    for (const s of Object.values(servers)) await drive(s.url, load, Number(o.warmup), 7);
    const rows = [];
    for (let round = 0; round < Number(o.rounds); round++) {
      const order = round % 2 === 0 ? ["plain", "suffix"] : ["suffix", "plain"];
      const got = {};
      for (const which of order) got[which] = await drive(servers[which].url, load, Number(o.seconds), round * 1000);
      const row = { round, load1: fmt(loadavg()[0]), plain_tps: fmt(got.plain.tps), suffix_tps: fmt(got.suffix.tps), ratio: Number((got.suffix.tps / got.plain.tps).toFixed(3)), errors: got.plain.errors + got.suffix.errors };
      const messages = [...got.plain.messages.map((m) => `plain: ${m}`), ...got.suffix.messages.map((m) => `suffix: ${m}`)];
      if (messages.length > 0) row.first_errors = messages;
      rows.push(row);
      console.log(JSON.stringify({ workload: name, ...row }));
    }
    summary[name] = {
      plain_tps_median: fmt(median(rows.map((r) => r.plain_tps))),
      suffix_tps_median: fmt(median(rows.map((r) => r.suffix_tps))),
      ratio_median: median(rows.map((r) => r.ratio)),
      errors: rows.reduce((n, r) => n + r.errors, 0),
    };
  }
  console.log(JSON.stringify({ clients, rounds: Number(o.rounds), seconds: Number(o.seconds), loadavg: loadavg().map(fmt), summary }, null, 2));
} finally {
  await Promise.all(Object.values(servers).map((s) => s.stop()));
}
