// End-to-end speed of each proposer on four workloads with the embedded
// model: tokens/s and mean acceptance length (tokens per verification step),
// greedy, one request at a time, after a warm-up. Prints a Markdown table.
//   npm run bench:e2e -w @glimpse/runtime-cuda [-- --repeats 3 --model DIR --only none,suffix --threads N]
import { cpus } from "node:os";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Engine } from "../dist/index.js";
import { WORKLOADS } from "./workloads.mjs";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: resolve(fileURLToPath(new URL(".", import.meta.url)), "../../../models/glimpse-coder-tiny") },
    repeats: { type: "string", default: "5" },
    only: { type: "string" },
    threads: { type: "string" },
  },
});
const repeats = Number(values.repeats);
const threads = values.threads ? { intraOpThreads: Number(values.threads) } : {};
const CONFIGS = {
  none: null,
  ngram: { method: "ngram", num_speculative_tokens: 8, prompt_lookup_min: 2, prompt_lookup_max: 5 },
  suffix: { method: "suffix" },
  mlp: { method: "arctic", model: "speculator-mlp" },
  lstm: { method: "arctic", model: "speculator-lstm" },
  hybrid: { method: "arctic", model: "speculator-lstm", enable_suffix_decoding: true },
};
const names = values.only ? values.only.split(",") : Object.keys(CONFIGS);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

console.log(`model ${values.model}; node ${process.version}; ${cpus().length} x ${cpus()[0]?.model}; greedy, batch 1, median of ${repeats} runs, intra-op threads ${values.threads ?? "default"}`);
const results = {};
for (const name of names) {
  const engine = await Engine.load(values.model, { speculativeConfig: CONFIGS[name], ...threads });
  results[name] = {};
  for (const w of WORKLOADS) {
    // Warm-up (also fills the suffix cache the way a running server would).
    for (const p of w.prompts) await engine.generate({ prompt: p, maxTokens: 16 });
    const rates = [];
    let steps = 0;
    let tokens = 0;
    for (let r = 0; r < repeats; r++) {
      let runTokens = 0;
      const t0 = performance.now();
      for (const p of w.prompts) {
        const res = await engine.generate({ prompt: p, maxTokens: w.maxTokens });
        runTokens += res.completionTokens;
        steps += res.metrics.steps;
        tokens += res.metrics.steps + res.metrics.acceptedTokens;
      }
      rates.push(runTokens / ((performance.now() - t0) / 1000));
    }
    results[name][w.name] = { tps: median(rates), acceptance: steps ? tokens / steps : 1 };
  }
  await engine.close();
}

const header = ["proposer", ...WORKLOADS.map((w) => `${w.name} tok/s (x none, accept len)`)];
console.log(`\n| ${header.join(" | ")} |\n|${header.map(() => "---").join("|")}|`);
for (const name of names) {
  const cells = WORKLOADS.map((w) => {
    const r = results[name][w.name];
    const base = results.none?.[w.name]?.tps;
    return `${r.tps.toFixed(0)} (${base ? (r.tps / base).toFixed(2) : "-"}x, ${r.acceptance.toFixed(2)})`;
  });
  console.log(`| ${name} | ${cells.join(" | ")} |`);
}
