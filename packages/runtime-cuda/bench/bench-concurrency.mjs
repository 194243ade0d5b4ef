// Aggregate throughput with concurrent requests batched into one forward
// pass, against one request at a time. Plain decoding (no speculation) so
// the figure is batching alone; greedy; median of 3 runs.
//   node bench/bench-concurrency.mjs [--model DIR] [--tokens 96] [--threads N]
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Engine } from "../dist/index.js";
import { WORKLOADS } from "./workloads.mjs";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: resolve(fileURLToPath(new URL(".", import.meta.url)), "../../../models/glimpse-coder-tiny") },
    tokens: { type: "string", default: "96" },
    spec: { type: "string" },
    threads: { type: "string" },
  },
});
const maxTokens = Number(values.tokens);
const prompts = WORKLOADS.flatMap((w) => w.prompts);
const engine = await Engine.load(values.model, { maxBatchSize: 8, speculativeConfig: values.spec ? JSON.parse(values.spec) : null,
  ...(values.threads ? { intraOpThreads: Number(values.threads) } : {}) });
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function rate(concurrency) {
  const runs = [];
  for (let r = 0; r < 3; r++) {
    const t0 = performance.now();
    const results = await Promise.all(
      Array.from({ length: concurrency }, (_, i) => engine.generate({ prompt: prompts[i % prompts.length], maxTokens, ignoreEos: true })),
    );
    const tokens = results.reduce((n, res) => n + res.completionTokens, 0);
    runs.push(tokens / ((performance.now() - t0) / 1000));
  }
  return median(runs);
}

await rate(1); // warm-up
const rows = [];
for (const c of [1, 2, 4, 8]) rows.push([c, await rate(c)]);
console.log(`model ${values.model}; ${maxTokens} tokens per request; ${values.spec ?? "plain decoding"}`);
console.log("| concurrent requests | aggregate tokens/s | x one request |\n|---:|---:|---:|");
for (const [c, r] of rows) console.log(`| ${c} | ${r.toFixed(0)} | ${(r / rows[0][1]).toFixed(2)} |`);
await engine.close();
