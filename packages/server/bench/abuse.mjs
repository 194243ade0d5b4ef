// Load under abuse: N well-behaved streaming clients, in alternating windows
// of --window seconds: quiet (no abuser), then abused (clients that send a
// streaming request with n = 16 and never read, a 4 MB prompt every 10 s, a
// 4 MB suffix document every 30 s), then quiet again, and so on, ending on a
// quiet window. Each abused window's tokens/s is compared with the mean of the
// quiet windows on either side: this machine's speed drifts by more than the
// effect measured (a quiet window alone ranged 1,296-1,611 tokens/s within
// an hour), so a baseline measured once, before, is not a fair reference.
// Reports the median of those ratios and the whole run's (bar: >= 90%), the
// well-behaved clients' errors (bar: 0), what the abusers got, and the
// server's RSS every --interval seconds over the whole run (bar: flat).

import { connect } from "node:net";
import { DEFAULT_MODEL, PROMPTS, flags, median, memory, startServer, streamCompletion } from "./common.mjs";

const o = flags({
  model: { type: "string", default: DEFAULT_MODEL },
  "serve-flags": { type: "string", default: "" },
  "speculative-config": { type: "string", default: "{\"method\": \"suffix\", \"suffix_cache_max_requests\": 256}" },
  clients: { type: "string", default: "16" },
  window: { type: "string", default: "60" },
  "abused-windows": { type: "string", default: "10" },
  warmup: { type: "string", default: "10" },
  interval: { type: "string", default: "30" },
  "max-tokens": { type: "string", default: "64" },
  "never-readers": { type: "string", default: "4" },
  "never-reader-hold": { type: "string", default: "0" },
  "prompt-every": { type: "string", default: "10" },
  "document-every": { type: "string", default: "30" },
  "abuse-bytes": { type: "string", default: "4000000" },
}, "node bench/abuse.mjs [--model DIR] [--serve-flags='--write-timeout 30 ...'] [--speculative-config JSON|none] [--clients 16] [--window 60] [--abused-windows 10]\n" +
  "  [--warmup 10] [--interval 30] [--max-tokens 64] [--never-readers 4] [--never-reader-hold 0] [--prompt-every 10] [--document-every 30] [--abuse-bytes 4000000]\n" +
  "the run: warmup, then quiet, abused, quiet, ..., quiet windows of --window seconds (2 x abused-windows + 1 of them)\n" +
  "--never-reader-hold S: each never-reading client reconnects and sends again every S seconds of abused time (0: connects at the first\n" +
  "  abused window, sends once and holds the connection to the end)\n" +
  "--prompt-every 0 / --document-every 0 / --never-readers 0: that abuser off (all off: an A/A control of the method)");

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

// Each client's requests are numbered across windows: every window gets fresh prompt/seed pairs.
const sent = Array.from({ length: clients }, () => 0);

/** Well-behaved clients for `seconds` (requests in flight then are finished and counted). */
async function wellBehaved(seconds) {
  const end = performance.now() + seconds * 1000;
  const errors = [];
  let tokens = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: clients }, async (_, c) => {
    while (performance.now() < end) {
      const k = c * 7919 + sent[c]++;
      try {
        const r = await streamCompletion(server.url, { prompt: PROMPTS[k % PROMPTS.length], max_tokens: maxTokens, temperature: k % 2 === 0 ? 0 : 0.8, seed: k });
        tokens += r.tokens;
      } catch (err) {
        errors.push(String(err.message ?? err));
      }
    }
  }));
  return { tokens, errors, wall: (performance.now() - t0) / 1000 };
}

/**
 * Whether abusers are on: `on` while an abused window runs, `signal` aborts
 * what they have in flight when it ends (an upload still being tokenized
 * must not run on into the next quiet window), `done` at the end of the run.
 */
const abuse = { on: false, done: false, ac: new AbortController() };
const whileQuiet = async () => { while (!abuse.on && !abuse.done) await sleep(0.1); };

/** A client that sends a streaming request with 16 choices and never reads; with a hold, it reconnects every `hold` seconds of abused time. */
async function neverReader(stats) {
  const hold = Number(o["never-reader-hold"]);
  while (!abuse.done) {
    await whileQuiet();
    if (abuse.done) break;
    const payload = JSON.stringify({ prompt: PROMPTS[stats.sent % PROMPTS.length], n: 16, max_tokens: maxTokens, stream: true });
    const s = connect(port, "127.0.0.1", () => {
      s.pause();
      s.write(`POST /v1/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\n\r\n${payload}`);
    });
    s.on("error", () => {});
    stats.sent++;
    for (let held = 0; !abuse.done && (hold <= 0 || held < hold); held += abuse.on ? 0.5 : 0) await sleep(0.5);
    s.destroy();
  }
}

/** Every `every` seconds of abused time, one request; statuses and times recorded (an upload cut by a window's end: "aborted"). */
async function periodic(every, stats, send) {
  for (let i = 0; !abuse.done; i++) {
    await whileQuiet();
    if (abuse.done) break;
    const t0 = performance.now();
    const signal = abuse.ac.signal;
    try {
      const res = await send(i, signal);
      await res.text();
      stats.status[res.status] = (stats.status[res.status] ?? 0) + 1;
      stats.ms.push(Math.round(performance.now() - t0));
    } catch (err) {
      const what = signal.aborted ? "aborted at the window's end" : String(err.message ?? err);
      stats.status[what] = (stats.status[what] ?? 0) + 1;
    }
    const end = t0 + every * 1000;
    while (abuse.on && !abuse.done && performance.now() < end) await sleep(0.25);
  }
}

const post = (path, body, signal) => fetch(`${server.url}${path}`, { method: "POST", headers: { "Content-Type": "application/json" }, body, signal });
const loadavg = async () => (await import("node:os")).loadavg().map((x) => Number(x.toFixed(2)));

try {
  await wellBehaved(Number(o.warmup));
  const abusers = { neverReaders: { sent: 0 }, prompts: { status: {}, ms: [] }, documents: { status: {}, ms: [] } };
  // Request bodies made once, before the clock starts: building and serializing 4 MB of text in this process (whose
  // one thread also reads the well-behaved clients' streams) would otherwise be counted against the server.
  const promptBody = JSON.stringify({ prompt: codeText(abuseBytes, 0), max_tokens: 8 });
  const documentBodies = Array.from({ length: 8 }, (_, i) => JSON.stringify({ name: `abuse-${i}.ts`, text: codeText(abuseBytes, i + 1) }));
  const tasks = [
    ...Array.from({ length: Number(o["never-readers"]) }, () => neverReader(abusers.neverReaders)),
    ...(Number(o["prompt-every"]) > 0 ? [periodic(Number(o["prompt-every"]), abusers.prompts, (_i, signal) => post("/v1/completions", promptBody, signal))] : []),
    ...(Number(o["document-every"]) > 0 ? [periodic(Number(o["document-every"]), abusers.documents, (i, signal) => post("/v1/suffix/documents", documentBodies[i % 8], signal))] : []),
  ];
  // RSS (MB) every interval, over the whole run.
  const rssSamples = [];
  const sampler = setInterval(async () => {
    const m = await memory(server.url).catch(() => ({ rss: NaN }));
    rssSamples.push(mb(m.rss));
  }, Number(o.interval) * 1000);
  const windows = [];
  const errors = [];
  for (let w = 0; w < 2 * Number(o["abused-windows"]) + 1; w++) {
    const abused = w % 2 === 1;
    abuse.ac = new AbortController();
    abuse.on = abused;
    const r = await wellBehaved(Number(o.window));
    abuse.on = false;
    abuse.ac.abort();
    errors.push(...r.errors);
    windows.push({ abused, tokens: r.tokens, wall: r.wall, rate: r.tokens / r.wall });
    console.log(JSON.stringify({ window: w, phase: abused ? "abused" : "quiet", tokens_per_s: Number((r.tokens / r.wall).toFixed(1)), errors: r.errors.length, rss_mb: rssSamples.at(-1), loadavg: await loadavg() }));
  }
  clearInterval(sampler);
  abuse.done = true;
  await Promise.all(tasks);

  // Each abused window against the mean of the quiet windows on either side.
  const ratios = windows.flatMap((x, i) => (x.abused ? [x.rate / ((windows[i - 1].rate + windows[i + 1].rate) / 2)] : []));
  const rateOf = (abused) => {
    const ws = windows.filter((x) => x.abused === abused);
    return ws.reduce((n, x) => n + x.tokens, 0) / ws.reduce((n, x) => n + x.wall, 0);
  };
  const [quietRate, abusedRate] = [rateOf(false), rateOf(true)];
  const rss = rssSamples.filter(Number.isFinite);
  const third = Math.max(1, Math.floor(rss.length / 3));
  const [firstThird, lastThird] = [median(rss.slice(0, third)), median(rss.slice(-third))];
  const summary = {
    clients,
    window_s: Number(o.window),
    quiet_tokens_per_s: Number(quietRate.toFixed(1)),
    abused_tokens_per_s: Number(abusedRate.toFixed(1)),
    kept_pct_median: Number((100 * median(ratios)).toFixed(1)),
    kept_pct_per_window: ratios.map((r) => Number((100 * r).toFixed(1))),
    kept_pct_whole_run: Number((100 * abusedRate / quietRate).toFixed(1)),
    well_behaved_errors: errors.length,
    first_errors: errors.slice(0, 3),
    never_reader_requests: abusers.neverReaders.sent,
    big_prompts: { status: abusers.prompts.status, max_ms: abusers.prompts.ms.length ? Math.max(...abusers.prompts.ms) : null },
    big_documents: { status: abusers.documents.status, max_ms: abusers.documents.ms.length ? Math.max(...abusers.documents.ms) : null },
    rss_mb: { samples: rss.length, min: Math.min(...rss), max: Math.max(...rss), median_first_third: firstThird, median_last_third: lastThird, growth_pct: Number((100 * (lastThird - firstThird) / firstThird).toFixed(1)) },
    loadavg: await loadavg(),
  };
  console.log(JSON.stringify(summary, null, 2));
  process.exitCode = summary.kept_pct_median >= 90 && errors.length === 0 && summary.rss_mb.growth_pct <= 10 ? 0 : 1;
} finally {
  abuse.done = true;
  await server.stop();
}
