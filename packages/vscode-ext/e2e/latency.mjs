// Keystroke-to-ghost-text trials in the real VS Code (bar 5 of issue 15), each
// in a context not seen before (no cache hit: a real request):
//   "pause": one key after a pause (the request goes out at once);
//   "burst": three keys 40 ms apart, timed from the last (the debounce applies).
// Each trial's fate is recorded: shown or not, the ghost text, and what the
// language server did for it (its trace: requests, answers, cancellations).

import { readFileSync } from "node:fs";
import { ghostText, percentile, say, sleep, waitFor } from "./lib.mjs";

/** Bar 5: share of trials with a suggestion, and the median keystroke-to-ghost-text time. */
export const BAR = { pauseRate: 0.95, burstRate: 0.8, p50Ms: 300 };

function traceSince(traceFile, fromWall, toWall) {
  let lines;
  try {
    lines = readFileSync(traceFile, "utf8").trim().split("\n");
  } catch {
    return [];
  }
  return lines.map((l) => JSON.parse(l)).filter((e) => e.t >= fromWall && e.t <= toWall && (!e.uri || e.uri.endsWith("latency.ts")));
}

/** One line per trace event, short enough to read in the result file. */
function fateOf(events) {
  const q = (s) => JSON.stringify(String(s ?? "").slice(0, 40));
  return events.map((e) => {
    if (e.source) return `served(${e.source}) ${q(e.text)}`;
    if (e.event === "request") return `request ...${q(e.line?.slice(-12))}`;
    if (e.event === "answer" || e.event === "next-line") return `${e.event} ${e.latencyMs} ms raw ${q(e.raw)} -> ${q(e.text)}`;
    return e.event + (e.editorCancelled ? " (editor cancelled)" : "");
  });
}

/** Runs the pause trials, then the burst trials; `done(kind, summary)` after each series (kept even if a later one fails). */
export async function latencyTrials(page, traceFile, trials, done) {
  let line = 0;
  async function series(kind, n) {
    say(`latency (${kind}): ${n} trials`);
    const samples = [];
    const parts = [];
    const fates = [];
    for (let i = 0; i < n; i++, line++) {
      await page.keyboard.press("Escape");
      await page.keyboard.press("End");
      await page.keyboard.press("Enter");
      // Insert the line in one edit (no intermediate contexts), let any suggestion settle, dismiss it.
      await page.keyboard.insertText(`const value${line} = add(value${Math.max(0, line - 1)}, `);
      await sleep(400);
      const before = (await ghostText(page)).trim();
      // Dismiss it; again if a request still in flight at the first Escape shows one after it.
      let escapedAt = 0;
      await waitFor("ghost text gone", async () => {
        if (!(await ghostText(page)).trim()) return true;
        if (Date.now() - escapedAt > 500) {
          await page.keyboard.press("Escape");
          escapedAt = Date.now();
        }
        return false;
      }, 5000, 20);
      await sleep(250);
      // Keys that do not start the suggestion just shown, so none is a typed-through hit.
      const key = ["x", "y", "z", "q"].find((k) => !before.startsWith(k));
      const keys = kind === "burst" ? ["v", "a", key] : [key];
      await page.evaluate(() => {
        window.__glimpse.keyAt = 0;
        window.__glimpse.ghostAt = 0;
      });
      const startWall = Date.now();
      for (const [j, k] of keys.entries()) {
        if (j > 0) await sleep(40);
        await page.keyboard.press(k);
      }
      const r = await waitFor("trial", async () => {
        const g = await page.evaluate(() => ({ ...window.__glimpse }));
        return g.ghostAt ? g : null;
      }, 3000, 5).catch(() => null);
      const events = traceSince(traceFile, startWall, Date.now());
      const fate = { line, keys: keys.join(""), shown: !!r, ms: r ? Math.round(r.ghostAt - r.keyAt) : null, ghost: r ? r.ghost : await ghostText(page), trace: fateOf(events) };
      fates.push(fate);
      if (r) {
        samples.push(r.ghostAt - r.keyAt);
        // Where the time went, from the language server's trace (same machine clock).
        const e = events.filter((x) => x.source && x.start >= r.keyWall - 5 && x.t <= r.ghostWall + 5).pop();
        if (e) parts.push({ toLanguageServer: e.start - r.keyWall, inLanguageServer: e.t - e.start, toScreen: r.ghostWall - e.t, source: e.source });
      } else {
        say(`latency (${kind}) trial ${i}: no suggestion; ${fate.trace.join(" | ")}`);
      }
    }
    const summary = {
      trials: n,
      withGhostText: samples.length,
      noSuggestion: n - samples.length,
      suggestionRate: samples.length / n,
      // null, not 0, when no trial showed a suggestion: there is no latency to report.
      p50Ms: samples.length ? Math.round(percentile(samples, 50)) : null,
      p90Ms: samples.length ? Math.round(percentile(samples, 90)) : null,
      minMs: samples.length ? Math.round(Math.min(...samples)) : null,
      maxMs: samples.length ? Math.round(Math.max(...samples)) : null,
      samplesMs: samples.map((x) => Math.round(x)),
      // Medians of the parts: keystroke to the request reaching the language server (VS Code's own 50 ms
      // wait and the client), inside it (debounce and the Glimpse server), and back to the screen.
      medianPartsMs: parts.length ? Object.fromEntries(["toLanguageServer", "inLanguageServer", "toScreen"].map((k) => [k, percentile(parts.map((p) => p[k]), 50)])) : null,
      sources: parts.map((p) => p.source),
      fates,
    };
    const figures = samples.length ? `p50 ${summary.p50Ms} ms, p90 ${summary.p90Ms} ms` : "no latency (no suggestion shown)";
    say(`latency (${kind}) keystroke -> ghost text: ${figures}; suggestion in ${samples.length} of ${n} trials; median parts ${JSON.stringify(summary.medianPartsMs)}`);
    return summary;
  }
  const pause = await series("pause", trials);
  done("pause", pause);
  const burst = await series("burst", Math.max(5, Math.round(trials / 2)));
  done("burst", burst);
  return { pause, burst };
}

/** Bar 5, checked: the list of what missed it (empty when met). */
export function barMisses(pause, burst) {
  const misses = [];
  const pct = (x) => `${Math.round(x * 100)}%`;
  if (pause.suggestionRate < BAR.pauseRate) misses.push(`pause trials with a suggestion ${pct(pause.suggestionRate)} (at least ${pct(BAR.pauseRate)})`);
  if (burst.suggestionRate < BAR.burstRate) misses.push(`burst trials with a suggestion ${pct(burst.suggestionRate)} (at least ${pct(BAR.burstRate)})`);
  // The latency bar is keystroke-to-ghost-text after a pause (the figure BENCHMARKS tracks); the end of
  // a burst includes the requests the burst cancelled, and is reported beside it.
  if (pause.p50Ms == null || pause.p50Ms > BAR.p50Ms) misses.push(`pause p50 ${pause.p50Ms ?? "n/a"} ms (at most ${BAR.p50Ms} ms)`);
  return misses;
}

