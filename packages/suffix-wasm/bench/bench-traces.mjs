// Speed and memory of the suffix tree on the shared traces: per-step
// speculate and update time (wall clock per call, as ArcticInference's
// simulator measures it) and memory per cached token, with the machine's load
// average. Each trace is replayed once to warm up, then `runs` times; medians.
//   node bench/bench-traces.mjs [runs=5]
//
// First table: the first 150 rows of each trace, default configuration, next
// to native ArcticInference figures measured elsewhere (issue 16: a -O3 build
// of its suffix_tree.cc, same inputs, on a machine of this kind). Second table:
// every configuration of ../shared/golden, ours only (the timings stored in
// those summaries were taken on a busier machine and are not comparable).
import { readdirSync, readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { resolve } from "node:path";
import { simulate, DEFAULT_SIMULATION_CONFIG } from "../dist/index.js";
import { readTrace, SHARED_DIR } from "./traces.mjs";

const runs = Number(process.argv[2] ?? 5);
const golden = resolve(SHARED_DIR, "golden");
const NATIVE = {
  codegen: [8.3, 2.9],
  sql: [6.2, 3.3],
  chat: [8.0, 1.9],
  agentic: [10.8, 4.2],
};

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const f = (x, d = 2) => x.toFixed(d);
const load = () => loadavg().map((x) => f(x)).join(" ");

function measure(rows, config) {
  simulate(rows, config);
  const spec = [];
  const upd = [];
  let last;
  for (let i = 0; i < runs; i++) {
    last = simulate(rows, config);
    spec.push(last.speculate_time_us_per_step);
    upd.push(last.update_time_us_per_step);
  }
  return { spec: median(spec), upd: median(upd), last };
}

const cores = cpus().length;
const startLoad = loadavg()[0];
console.log(`node ${process.version}, ${cores} x ${cpus()[0]?.model ?? "cpu"}, ${runs} runs after a warm-up, medians`);
console.log(`load average at start: ${load()}`);
if (startLoad > cores / 2) console.log(`WARNING: load average ${f(startLoad)} on ${cores} cores: timings are inflated; rerun on a quiet machine`);
console.log("");
console.log("First 150 rows, default configuration (depth 64, path mode, min prob 0.1, unlimited cache):");
console.log("");
console.log("| trace | steps | ours: speculate + update us/step | native C++ (measured elsewhere) | ratio | ours B/cached token | native B/cached token |");
console.log("|---|---:|---:|---:|---:|---:|---:|");
for (const [trace, [nSpec, nUpd]] of Object.entries(NATIVE)) {
  const rows = readTrace(trace, 150);
  const { spec, upd, last } = measure(rows, DEFAULT_SIMULATION_CONFIG);
  const ref = JSON.parse(readFileSync(resolve(golden, `${trace}.path.summary.json`), "utf8"));
  const nativePerToken = ref.global_tree_memory_estimate_bytes / last.cached_tokens;
  console.log(`| ${trace} | ${last.total_steps} | ${f(spec)} + ${f(upd)} = ${f(spec + upd)} | ${f(nSpec, 1)} + ${f(nUpd, 1)} = ${f(nSpec + nUpd, 1)} | ` +
    `${f((spec + upd) / (nSpec + nUpd))} | ${f(last.memory_bytes_per_cached_token, 0)} | ${f(nativePerToken, 0)} |`);
}
console.log("");
console.log("Every reference configuration in ../shared/golden (ours):");
console.log("");
console.log("| config | steps | speculate + update us/step | start us/request | B/cached token |");
console.log("|---|---:|---:|---:|---:|");
for (const file of readdirSync(golden).filter((x) => x.endsWith(".summary.json")).sort()) {
  const ref = JSON.parse(readFileSync(resolve(golden, file), "utf8"));
  const c = ref.config;
  const trace = String(ref.data).match(/traces\/(\w+)\.jsonl/)[1];
  const { spec, upd, last } = measure(readTrace(trace, ref.num_lines), {
    maxDepth: c.max_depth,
    maxSpecTokens: c.max_spec_tokens || c.max_depth,
    maxSpecFactor: c.max_spec_factor,
    maxSpecOffset: c.max_spec_offset,
    minTokenProb: c.min_token_prob,
    useTreeSpec: c.use_tree_spec,
    maxCachedRequests: c.max_cached_requests,
  });
  console.log(`| ${file.replace(".summary.json", "")} | ${last.total_steps} | ${f(spec)} + ${f(upd)} = ${f(spec + upd)} | ` +
    `${f(last.start_time_us_per_request, 0)} | ${f(last.memory_bytes_per_cached_token, 0)} |`);
}
console.log("");
console.log(`load average at end: ${load()}`);
