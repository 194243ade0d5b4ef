// Aggregate throughput with concurrent requests batched into one forward
// pass, against one request at a time. Plain decoding (no speculation) so
// the figure is batching alone; greedy.
//   node bench/bench-concurrency.mjs [--model DIR] [--tokens 96] [--threads N] [--rounds 5]
import { parseArgs } from "node:util";
import { Engine } from "../dist/index.js";
import { DEFAULT_MODEL, median, threadOptions } from "./common.mjs";
import { WORKLOADS } from "./workloads.mjs";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: DEFAULT_MODEL },
    tokens: { type: "string", default: "96" },
    spec: { type: "string" },
    threads: { type: "string" },
    rounds: { type: "string", default: "5" },
  },
});
const maxTokens = Number(values.tokens);
const prompts = WORKLOADS.flatMap((w) => w.prompts);
const engine = await Engine.load(values.model, { maxBatchSize: 8, speculativeConfig: values.spec ? JSON.parse(values.spec) : null,
  ...threadOptions(values.threads) });

// One round at concurrency c: the same 8 prompts, c requests in flight at a
// time (c = 1: one after another). Rounds of every c alternate, so a slow
// spell on this shared machine hits them alike; "x one request" is the
// median of per-round ratios.
const LEVELS = [1, 2, 4, 8];
const ROUNDS = Number(values.rounds);
const set = prompts.slice(0, 8);

async function round(concurrency) {
  const t0 = performance.now();
  let tokens = 0;
  for (let i = 0; i < set.length; i += concurrency) {
    const results = await Promise.all(set.slice(i, i + concurrency).map((prompt) => engine.generate({ prompt, maxTokens, ignoreEos: true })));
    tokens += results.reduce((n, res) => n + res.completionTokens, 0);
  }
  return tokens / ((performance.now() - t0) / 1000);
}

await round(8); // warm-up
const rates = Object.fromEntries(LEVELS.map((c) => [c, []]));
for (let r = 0; r < ROUNDS; r++) for (const c of LEVELS) rates[c].push(await round(c));
console.log(`model ${values.model}; ${maxTokens} tokens per request, 8 prompts; ${values.spec ?? "plain decoding"}; median of ${ROUNDS} rounds`);
console.log("| concurrent requests | aggregate tokens/s | x one request |\n|---:|---:|---:|");
for (const c of LEVELS) {
  const ratio = median(rates[c].map((x, r) => x / rates[1][r]));
  console.log(`| ${c} | ${median(rates[c]).toFixed(0)} | ${ratio.toFixed(2)} |`);
}
await engine.close();
