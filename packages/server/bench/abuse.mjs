// Load under abuse: N well-behaved streaming clients, first undisturbed, then
// beside abusers: clients that send streaming requests (n = 16) and never
// read, a 4 MB prompt every 10 s and a 4 MB suffix document every 30 s.
// Reports the well-behaved clients' tokens/s in both phases (bar: >= 90%),
// their errors (bar: 0), what the abusers got, and the server's RSS every
// --interval seconds with its growth (bar: flat).

import { connect } from "node:net";
import { DEFAULT_MODEL, PROMPTS, flags, memory, startServer, streamCompletion } from "./common.mjs";

const o = flags({
  model: { type: "string", default: DEFAULT_MODEL },
  "serve-flags": { type: "string", default: "" },
  "speculative-config": { type: "string", default: "{\"method\": \"suffix\", \"suffix_cache_max_requests\": 256}" },
  clients: { type: "string", default: "16" },
  baseline: { type: "string", default: "60" },
  duration: { type: "string", default: "600" },
  warmup: { type: "string", default: "10" },
  interval: { type: "string", default: "30" },
  "max-tokens": { type: "string", default: "64" },
  "never-readers": { type: "string", default: "4" },
  "never-reader-hold": { type: "string", default: "0" },
  "prompt-every": { type: "string", default: "10" },
  "document-every": { type: "string", default: "30" },
  "abuse-bytes": { type: "string", default: "4000000" },
}, "node bench/abuse.mjs [--model DIR] [--serve-flags='--write-timeout 30 ...'] [--speculative-config JSON|none] [--clients 16] [--baseline 60] [--duration 600]\n" +
  "  [--warmup 10] [--interval 30] [--max-tokens 64] [--never-readers 4] [--never-reader-hold 0] [--prompt-every 10] [--document-every 30] [--abuse-bytes 4000000]\n" +
  "--never-reader-hold S: each never-reading client reconnects and sends again every S seconds (0: sends once and holds the connection to the end)\n" +
  "--prompt-every 0 / --document-every 0 / --never-readers 0: that abuser off");

const clients = Number(o.clients);
const maxTokens = Number(o["max-tokens"]);
const abuseBytes = Number(o["abuse-bytes"]);
const sleep = (s) => new Promise((r) => setTimeout(r, s * 1000));
const mb = (bytes) => Math.round(bytes / 2 ** 20);

// Room for every abuser's 16 choices beside the well-behaved clients: what is measured is their effect on the engine.
const server = await startServer({
  model: o.model, speculativeConfig: o["speculative-config"],
  extra: ["--max-concurrency", String(clients * 2 + Number(o["never-readers"]) * 16), ...o["serve-flags"].split(" ").filter(Boolean)],
});
const port = Number(new URL(server.url).port);

/** Code-shaped text of about `bytes` bytes. */
function codeText(bytes, seed) {
  const lines = [];
  for (let i = 0, n = 0; n < bytes; i++) {
    const line = `function f${seed}_${i}(x, y) { return x * ${(i * 7919) % 1009} + y - ${(i * 104729) % 997}; }\n`;
    lines.push(line);
    n += line.length;
  }
  return lines.join("").slice(0, bytes);
}

/** Well-behaved clients until `end`; tokens counted per --interval bucket. */
async function wellBehaved(seconds, onTokens) {
  const end = performance.now() + seconds * 1000;
  const errors = [];
  let tokens = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, async (_, c) => {
    for (let i = 0; performance.now() < end; i++) {
      const k = c * 7919 + i;
      try {
        const r = await streamCompletion(server.url, { prompt: PROMPTS[k % PROMPTS.length], max_tokens: maxTokens, temperature: k % 2 === 0 ? 0 : 0.8, seed: k });
        tokens += r.tokens;
        onTokens?.(r.tokens);
      } catch (err) {
        errors.push(String(err.message ?? err));
      }
    }
  }));
  return { tokens, errors, wall: (performance.now() - t0) / 1000 };
}

/** A client that sends a streaming request with 16 choices and never reads; with a hold, it reconnects every `hold` seconds. */
async function neverReader(stop, stats) {
  while (!stop.done) {
    const payload = JSON.stringify({ prompt: PROMPTS[stats.sent % PROMPTS.length], n: 16, max_tokens: maxTokens, stream: true });
    const s = connect(port, "127.0.0.1", () => {
      s.pause();
      s.write(`POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`);
    });
    s.on("error", () => {});
    stats.sent++;
    const hold = Number(o["never-reader-hold"]);
    const until = hold > 0 ? performance.now() + hold * 1000 : Infinity;
    while (!stop.done && performance.now() < until) await sleep(0.5);
    s.destroy();
  }
}

/** Every `every` seconds, one request; statuses and times recorded. */
async function periodic(stop, every, stats, send) {
  for (let i = 0; !stop.done; i++) {
    const t0 = performance.now();
    try {
      const res = await send(i, stop.signal);
      await res.text();
      stats.status[res.status] = (stats.status[res.status] ?? 0) + 1;
    } catch (err) {
      stats.status[String(err.message ?? err)] = (stats.status[String(err.message ?? err)] ?? 0) + 1;
    }
    stats.ms.push(Math.round(performance.now() - t0));
    const wait = every * 1000 - (performance.now() - t0);
    for (let end = performance.now() + wait; !stop.done && performance.now() < end;) await sleep(0.25);
  }
}

const post = (path, body, signal) => fetch(`${server.url}${path}`, { method: "POST", headers: { "Content-Type": "application/json" }, body, signal });
const loadavg = async () => (await import("node:os")).loadavg().map((x) => Number(x.toFixed(2)));

try {
  await wellBehaved(Number(o.warmup));
  const base = await wellBehaved(Number(o.baseline));
  const baseRate = base.tokens / base.wall;
  console.log(JSON.stringify({ phase: "undisturbed", seconds: Number(base.wall.toFixed(1)), tokens_per_s: Number(baseRate.toFixed(1)), errors: base.errors.length, loadavg: await loadavg() }));

  const ac = new AbortController();
  const stop = { done: false, signal: ac.signal };
  const abusers = { neverReaders: { sent: 0 }, prompts: { status: {}, ms: [] }, documents: { status: {}, ms: [] } };
  // Request bodies made once, before the clock starts: building and serializing 4 MB of text in this process (whose
  // one thread also reads the well-behaved clients' streams) would otherwise be counted against the server.
  const promptBody = JSON.stringify({ prompt: codeText(abuseBytes, 0), max_tokens: 8 });
  const documentBodies = Array.from({ length: 8 }, (_, i) => JSON.stringify({ name: `abuse-${i}.ts`, text: codeText(abuseBytes, i + 1) }));
  // An interval of 0 turns that abuser off (to see what each one costs).
  const tasks = [
    ...Array.from({ length: Number(o["never-readers"]) }, () => neverReader(stop, abusers.neverReaders)),
    ...(Number(o["prompt-every"]) > 0 ? [periodic(stop, Number(o["prompt-every"]), abusers.prompts, (_i, signal) => post("/v1/completions", promptBody, signal))] : []),
    ...(Number(o["document-every"]) > 0 ? [periodic(stop, Number(o["document-every"]), abusers.documents, (i, signal) => post("/v1/suffix/documents", documentBodies[i % 8], signal))] : []),
  ];
  // RSS and tokens/s every interval.
  const samples = [];
  let bucket = 0;
  const t0 = performance.now();
  const sampler = setInterval(async () => {
    const m = await memory(server.url).catch(() => ({ rss: NaN }));
    const at = Math.round((performance.now() - t0) / 1000);
    samples.push({ t_s: at, rss_mb: mb(m.rss), tokens_per_s: Number((bucket / Number(o.interval)).toFixed(1)) });
    bucket = 0;
    console.log(JSON.stringify({ phase: "abuse", ...samples[samples.length - 1], loadavg: await loadavg() }));
  }, Number(o.interval) * 1000);
  const run = await wellBehaved(Number(o.duration), (n) => (bucket += n));
  clearInterval(sampler);
  stop.done = true;
  ac.abort(); // an upload still in flight is not waited for
  await Promise.all(tasks);

  const rate = run.tokens / run.wall;
  const rss = samples.map((s) => s.rss_mb).filter(Number.isFinite);
  const quarter = rss[Math.floor(rss.length / 4)] ?? rss[0];
  const summary = {
    clients,
    undisturbed_tokens_per_s: Number(baseRate.toFixed(1)),
    abused_tokens_per_s: Number(rate.toFixed(1)),
    kept_pct: Number((100 * rate / baseRate).toFixed(1)),
    well_behaved_errors: run.errors.length,
    first_errors: run.errors.slice(0, 3),
    never_reader_requests: abusers.neverReaders.sent,
    big_prompts: { status: abusers.prompts.status, max_ms: abusers.prompts.ms.length ? Math.max(...abusers.prompts.ms) : null },
    big_documents: { status: abusers.documents.status, max_ms: abusers.documents.ms.length ? Math.max(...abusers.documents.ms) : null },
    rss_mb: { first: rss[0], at_quarter: quarter, last: rss[rss.length - 1], max: Math.max(...rss), growth_after_quarter_pct: Number((100 * (rss[rss.length - 1] - quarter) / quarter).toFixed(1)) },
    loadavg: await loadavg(),
  };
  console.log(JSON.stringify(summary, null, 2));
  process.exitCode = summary.kept_pct >= 90 && run.errors.length === 0 && summary.rss_mb.growth_after_quarter_pct <= 10 ? 0 : 1;
} finally {
  await server.stop();
}
