// Aggregate throughput with concurrent requests batched into one forward
// pass, against one request at a time. Plain decoding (no speculation) so
// the figure is batching alone; greedy.
//   node bench/bench-concurrency.mjs [--model DIR] [--tokens 96] [--threads N] [--rounds 5]
// Before/after: `--baseline PATH` (another build's runtime-cuda dist/index.js,
// dist folder or package folder) loads that build's Engine too and runs every
// level on both builds in the same rounds (back to back, which goes first
// alternating by round); it adds current / baseline tokens/s per level (median
// of per-round ratios) and checks that both builds' greedy outputs are
// token-identical. `--current PATH` replaces this package's dist.
import { parseArgs } from "node:util";
import { DEFAULT_MODEL, OutputCheck, loadBuilds, loadLine, machineInfo, median, medianRatio, roundOrder, threadOptions } from "./common.mjs";
import { WORKLOADS } from "./workloads.mjs";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: DEFAULT_MODEL },
    tokens: { type: "string", default: "96" },
    spec: { type: "string" },
    threads: { type: "string" },
    rounds: { type: "string", default: "5" },
    baseline: { type: "string" },
    current: { type: "string" },
  },
});
const maxTokens = Number(values.tokens);
const prompts = WORKLOADS.flatMap((w) => w.prompts);
console.log(machineInfo());
const builds = await loadBuilds({ current: values.current, baseline: values.baseline });
const compare = builds.length === 2;
const engines = {};
for (const b of builds) {
  engines[b.label] = await b.Engine.load(values.model, { maxBatchSize: 8, promptCacheMiB: 0, speculativeConfig: values.spec ? JSON.parse(values.spec) : null,
    ...threadOptions(values.threads) });
}

// One round at concurrency c: the same 8 prompts, c requests in flight at a
// time (c = 1: one after another). Rounds of every c alternate, so a slow
// spell on this shared machine hits them alike; "x one request" is the
// median of per-round ratios. With a baseline, each level runs on both
// builds back to back within the same round.
const LEVELS = [1, 2, 4, 8];
const ROUNDS = Number(values.rounds);
const set = prompts.slice(0, 8);

async function round(engine, concurrency) {
  const t0 = performance.now();
  let tokens = 0;
  const outputs = [];
  for (let i = 0; i < set.length; i += concurrency) {
    const results = await Promise.all(set.slice(i, i + concurrency).map((prompt) => engine.generate({ prompt, maxTokens, ignoreEos: true })));
    tokens += results.reduce((n, res) => n + res.completionTokens, 0);
    for (const res of results) outputs.push(res.tokenIds);
  }
  return { rate: tokens / ((performance.now() - t0) / 1000), outputs };
}

const check = new OutputCheck();
const checkOutputs = (where, current, baseline) => set.forEach((_, i) => check.check(`${where}, prompt ${i}`, current[i], baseline[i]));

const warm = {};
for (const b of builds) warm[b.label] = await round(engines[b.label], 8); // warm-up
if (compare) checkOutputs("warm-up (8 at a time)", warm.current.outputs, warm.baseline.outputs);
const rates = Object.fromEntries(builds.map((b) => [b.label, Object.fromEntries(LEVELS.map((c) => [c, []]))]));
for (let r = 0; r < ROUNDS; r++) {
  // Levels 1, 2, 4, 8 in that order every round; with a baseline, each level
  // on both builds back to back, which build goes first alternating by round.
  const order = roundOrder(LEVELS, builds, r, { rotate: false });
  const outs = {};
  for (const [c, b] of order) {
    const res = await round(engines[b.label], c);
    rates[b.label][c].push(res.rate);
    outs[`${b.label} ${c}`] = res.outputs;
  }
  if (compare) for (const c of LEVELS) checkOutputs(`${c} at a time, round ${r}`, outs[`current ${c}`], outs[`baseline ${c}`]);
}
console.log(`model ${values.model}; ${maxTokens} tokens per request, 8 prompts; ${values.spec ?? "plain decoding"}; median of ${ROUNDS} rounds`);
for (const b of builds) {
  if (compare) console.log(`\n${b.label} build:`);
  console.log("| concurrent requests | aggregate tokens/s | x one request |\n|---:|---:|---:|");
  for (const c of LEVELS) {
    const ratio = medianRatio(rates[b.label][c], rates[b.label][1]);
    console.log(`| ${c} | ${median(rates[b.label][c]).toFixed(0)} | ${ratio.toFixed(2)} |`);
  }
}
if (compare) {
  console.log(`\ncurrent / baseline tokens/s: median of ${ROUNDS} per-round ratios [lowest-highest round]`);
  console.log("| concurrent requests | current tokens/s | baseline tokens/s | current / baseline |\n|---:|---:|---:|---:|");
  for (const c of LEVELS) {
    const ratios = rates.current[c].map((x, r) => x / rates.baseline[c][r]);
    console.log(`| ${c} | ${median(rates.current[c]).toFixed(0)} | ${median(rates.baseline[c]).toFixed(0)} | `
      + `${median(ratios).toFixed(3)} [${Math.min(...ratios).toFixed(2)}-${Math.max(...ratios).toFixed(2)}] |`);
  }
  console.log(`\n${check.summary()}`);
}
for (const b of builds) await engines[b.label].close();
console.log(loadLine());
