// End-to-end speed of each proposer on four workloads with the embedded
// model: tokens/s and mean acceptance length (tokens per verification step),
// greedy, one request at a time, after a warm-up; the engines take turns round
// by round, and "x none" is the median of per-round ratios. Prints a Markdown table.
//   npm run bench:e2e -w @glimpse/runtime-cuda [-- --repeats 9 --model DIR --only none,suffix --threads N]
import { cpus } from "node:os";
import { parseArgs } from "node:util";
import { Engine } from "../dist/index.js";
import { DEFAULT_MODEL, median, threadOptions } from "./common.mjs";
import { WORKLOADS } from "./workloads.mjs";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: DEFAULT_MODEL },
    repeats: { type: "string", default: "9" },
    only: { type: "string" },
    threads: { type: "string" },
  },
});
const repeats = Number(values.repeats);
const threads = threadOptions(values.threads);
const CONFIGS = {
  none: null,
  ngram: { method: "ngram", num_speculative_tokens: 8, prompt_lookup_min: 2, prompt_lookup_max: 5 },
  suffix: { method: "suffix" },
  mlp: { method: "arctic", model: "speculator-mlp" },
  lstm: { method: "arctic", model: "speculator-lstm" },
  hybrid: { method: "arctic", model: "speculator-lstm", enable_suffix_decoding: true },
};
const names = values.only ? values.only.split(",") : Object.keys(CONFIGS);

console.log(`model ${values.model}; node ${process.version}; ${cpus().length} x ${cpus()[0]?.model}; greedy, batch 1, median of ${repeats} rounds, intra-op threads ${values.threads ?? "default"}`);
if (!names.includes("none")) names.unshift("none"); // the yardstick every ratio needs

// All engines stay loaded and take turns, workload by workload and round by
// round: a slow spell on this shared machine then hits every proposer alike,
// and each ratio compares runs made seconds apart.
const engines = {};
for (const name of names) engines[name] = await Engine.load(values.model, { speculativeConfig: CONFIGS[name], ...threads });

async function runWorkload(engine, w) {
  let tokens = 0;
  let steps = 0;
  let produced = 0;
  const t0 = performance.now();
  for (const p of w.prompts) {
    const res = await engine.generate({ prompt: p, maxTokens: w.maxTokens });
    tokens += res.completionTokens;
    steps += res.metrics.steps;
    produced += res.metrics.steps + res.metrics.acceptedTokens;
  }
  return { rate: tokens / ((performance.now() - t0) / 1000), steps, produced };
}

const results = Object.fromEntries(names.map((n) => [n, {}]));
for (const w of WORKLOADS) {
  // Warm-up (also fills the suffix cache the way a running server would).
  for (const name of names) for (const p of w.prompts) await engines[name].generate({ prompt: p, maxTokens: 16 });
  const runs = Object.fromEntries(names.map((n) => [n, []]));
  // The order rotates from round to round, plain decoding included, so no
  // engine always runs first, or always right after a given one. (Identical
  // plain engines measured this way differ by up to 4% on this machine.)
  for (let r = 0; r < repeats; r++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(k + r) % names.length];
      runs[name].push(await runWorkload(engines[name], w));
    }
  }
  for (const name of names) {
    const own = runs[name];
    const steps = own.reduce((n, x) => n + x.steps, 0);
    const produced = own.reduce((n, x) => n + x.produced, 0);
    results[name][w.name] = {
      tps: median(own.map((x) => x.rate)),
      // Median over rounds of this proposer's rate / plain decoding's rate in the same round.
      ratio: median(own.map((x, r) => x.rate / runs.none[r].rate)),
      acceptance: steps ? produced / steps : 1,
    };
  }
}
for (const engine of Object.values(engines)) await engine.close();

const header = ["proposer", ...WORKLOADS.map((w) => `${w.name} tok/s (x none, accept len)`)];
console.log(`\n| ${header.join(" | ")} |\n|${header.map(() => "---").join("|")}|`);
for (const name of names) {
  const cells = WORKLOADS.map((w) => {
    const r = results[name][w.name];
    return `${r.tps.toFixed(0)} (${r.ratio.toFixed(2)}x, ${r.acceptance.toFixed(2)})`;
  });
  console.log(`| ${name} | ${cells.join(" | ")} |`);
}
