// Expected speedup of suffix decoding on the real traces (../shared/traces),
// from two measurements: the embedded model's cost of verifying k draft
// tokens relative to 1 (here, onnxruntime CPU), and the drafts and
// acceptance the suffix proposer reaches on each trace (the simulator).
//   speedup = tokens * t(1) / sum over steps of (t(1 + draft_len) + speculation time)
//   node bench/projection.mjs [--model DIR] [--rows 150] [--context 512]
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { simulate } from "@glimpse/suffix-wasm";
import { Engine } from "../dist/index.js";
import { DEFAULT_MODEL } from "./common.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const { values } = parseArgs({
  options: {
    model: { type: "string", default: DEFAULT_MODEL },
    rows: { type: "string", default: "150" },
    context: { type: "string", default: "512" },
    shared: { type: "string", default: process.env.GLIMPSE_SHARED_DIR ?? resolve(here, "../../../../shared") },
  },
});
const MAX_DRAFT = 16;
const engine = await Engine.load(values.model);
const cost = await engine.profileVerifyCost(Number(values.context), MAX_DRAFT);
await engine.close();
console.log(`verify cost at context ${values.context} (ms, median): ` + cost.map((c, k) => `k=${k}: ${c.toFixed(2)}`).join(", "));
console.log(`relative to k=0: ` + cost.map((c) => (c / cost[0]).toFixed(2)).join(" "));

console.log("\n| trace | steps | mean accepted/step | mean draft len | projected speedup (suffix, path, draft <= 16) |\n|---|---:|---:|---:|---:|");
for (const trace of ["codegen", "sql", "chat", "agentic"]) {
  const rows = readFileSync(resolve(values.shared, "traces", `${trace}.jsonl`), "utf8").split("\n").filter(Boolean)
    .slice(0, Number(values.rows)).map((l) => JSON.parse(l))
    .map((r) => ({ prompt: Int32Array.from(r.prompt_ids), response: Int32Array.from(r.response_ids) }));
  let specMs = 0;
  let tokens = 0;
  let draftTotal = 0;
  const summary = simulate(rows, { maxDepth: 64, maxSpecTokens: MAX_DRAFT, maxSpecFactor: 1, maxSpecOffset: 0, minTokenProb: 0.1, useTreeSpec: false, maxCachedRequests: -1 }, (step) => {
    const k = Math.min(step.draft.tokenIds.length, MAX_DRAFT);
    specMs += cost[k];
    draftTotal += k;
    tokens += step.numAccepted + 1;
  });
  // Proposer cost: the simulator's measured speculate + update time per step.
  specMs += summary.total_steps * (summary.speculate_time_us_per_step + summary.update_time_us_per_step) / 1000;
  const speedup = (tokens * cost[0]) / specMs;
  console.log(`| ${trace} | ${summary.total_steps} | ${summary.mean_accepted_tokens_per_step.toFixed(2)} | ${(draftTotal / summary.total_steps).toFixed(2)} | ${speedup.toFixed(2)}x |`);
}
