// End-to-end speed of each proposer on four workloads with the embedded
// model: tokens/s and mean acceptance length (tokens per verification step),
// greedy, one request at a time, after a warm-up; the engines take turns round
// by round, and "x none" is the median of per-round ratios. Prints a Markdown table.
//   npm run bench:e2e -w @glimpse/runtime-cuda [-- --repeats 9 --model DIR --only none,suffix --threads N]
// Before/after: `--baseline PATH` (another build's runtime-cuda dist/index.js,
// dist folder or package folder) loads that build's Engine too and runs every
// proposer on both builds in the same rotation (each proposer's two builds back
// to back, which goes first alternating by round); it adds a table of current /
// baseline tokens/s (median of per-round ratios) and checks that both builds'
// greedy outputs are token-identical. `--current PATH` replaces this package's dist.
import { parseArgs } from "node:util";
import { DEFAULT_MODEL, OutputCheck, loadBuilds, loadLine, machineInfo, median, medianRatio, roundOrder, threadOptions } from "./common.mjs";
import { WORKLOADS } from "./workloads.mjs";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: DEFAULT_MODEL },
    repeats: { type: "string", default: "9" },
    only: { type: "string" },
    threads: { type: "string" },
    baseline: { type: "string" },
    current: { type: "string" },
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

console.log(machineInfo());
const builds = await loadBuilds({ current: values.current, baseline: values.baseline });
const compare = builds.length === 2;
console.log(`model ${values.model}; node ${process.version}; greedy, batch 1, median of ${repeats} rounds, intra-op threads ${values.threads ?? "default"}`
  + (compare ? "; current and baseline builds interleaved" : ""));
if (!names.includes("none")) names.unshift("none"); // the yardstick every ratio needs

// All engines (of both builds) stay loaded and take turns, workload by
// workload and round by round: a slow spell on this shared machine then hits
// every proposer and build alike, and each ratio compares runs made seconds apart.
const engines = Object.fromEntries(builds.map((b) => [b.label, {}]));
for (const name of names) {
  for (const b of builds) engines[b.label][name] = await b.Engine.load(values.model, { speculativeConfig: CONFIGS[name], promptCacheMiB: 0, ...threads }); // prompts repeat: no prompt cache
}

async function runWorkload(engine, w) {
  let tokens = 0;
  let steps = 0;
  let produced = 0;
  const outputs = [];
  const t0 = performance.now();
  for (const p of w.prompts) {
    const res = await engine.generate({ prompt: p, maxTokens: w.maxTokens });
    tokens += res.completionTokens;
    steps += res.metrics.steps;
    produced += res.metrics.steps + res.metrics.acceptedTokens;
    outputs.push(res.tokenIds);
  }
  return { rate: tokens / ((performance.now() - t0) / 1000), steps, produced, outputs };
}

const check = new OutputCheck();
const checkOutputs = (where, w, current, baseline) => {
  w.prompts.forEach((_, i) => check.check(`${where}, ${w.name} prompt ${i}`, current[i], baseline[i]));
};

// results[build][proposer][workload]; vsBaseline[proposer][workload]
const results = Object.fromEntries(builds.map((b) => [b.label, Object.fromEntries(names.map((n) => [n, {}]))]));
const vsBaseline = Object.fromEntries(names.map((n) => [n, {}]));
for (const w of WORKLOADS) {
  // Warm-up (also fills the suffix cache the way a running server would).
  for (const name of names) {
    const warm = {};
    for (const b of builds) {
      warm[b.label] = [];
      for (const p of w.prompts) warm[b.label].push((await engines[b.label][name].generate({ prompt: p, maxTokens: 16 })).tokenIds);
    }
    if (compare) checkOutputs(`${name} warm-up`, w, warm.current, warm.baseline);
  }
  const runs = Object.fromEntries(builds.map((b) => [b.label, Object.fromEntries(names.map((n) => [n, []]))]));
  // The order rotates from round to round, plain decoding included, so no
  // engine always runs first, or always right after a given one. (Identical
  // plain engines measured this way differ by up to 4% on this machine.)
  for (let r = 0; r < repeats; r++) {
    for (const [name, b] of roundOrder(names, builds, r)) runs[b.label][name].push(await runWorkload(engines[b.label][name], w));
    if (compare) for (const name of names) checkOutputs(`${name} round ${r}`, w, runs.current[name][r].outputs, runs.baseline[name][r].outputs);
  }
  for (const b of builds) {
    for (const name of names) {
      const own = runs[b.label][name];
      const steps = own.reduce((n, x) => n + x.steps, 0);
      const produced = own.reduce((n, x) => n + x.produced, 0);
      results[b.label][name][w.name] = {
        tps: median(own.map((x) => x.rate)),
        // Median over rounds of this proposer's rate / plain decoding's rate in the same round.
        ratio: medianRatio(own.map((x) => x.rate), runs[b.label].none.map((x) => x.rate)),
        acceptance: steps ? produced / steps : 1,
      };
    }
  }
  if (compare) {
    for (const name of names) {
      const rates = (label) => runs[label][name].map((x) => x.rate);
      const ratios = rates("current").map((x, r) => x / rates("baseline")[r]);
      vsBaseline[name][w.name] = { ratio: median(ratios), min: Math.min(...ratios), max: Math.max(...ratios) };
    }
  }
}
for (const b of builds) for (const engine of Object.values(engines[b.label])) await engine.close();

for (const b of builds) {
  if (compare) console.log(`\n${b.label} build:`);
  const header = ["proposer", ...WORKLOADS.map((w) => `${w.name} tok/s (x none, accept len)`)];
  console.log(`\n| ${header.join(" | ")} |\n|${header.map(() => "---").join("|")}|`);
  for (const name of names) {
    const cells = WORKLOADS.map((w) => {
      const r = results[b.label][name][w.name];
      return `${r.tps.toFixed(0)} (${r.ratio.toFixed(2)}x, ${r.acceptance.toFixed(2)})`;
    });
    console.log(`| ${name} | ${cells.join(" | ")} |`);
  }
}
if (compare) {
  console.log(`\ncurrent / baseline tokens/s: median of ${repeats} per-round ratios [lowest-highest round]`);
  const header = ["proposer", ...WORKLOADS.map((w) => w.name)];
  console.log(`\n| ${header.join(" | ")} |\n|${header.map(() => "---").join("|")}|`);
  for (const name of names) {
    const cells = WORKLOADS.map((w) => {
      const v = vsBaseline[name][w.name];
      return `${v.ratio.toFixed(3)} [${v.min.toFixed(2)}-${v.max.toFixed(2)}]`;
    });
    console.log(`| ${name} | ${cells.join(" | ")} |`);
  }
  console.log(`\n${check.summary()}`);
}
console.log(loadLine());
