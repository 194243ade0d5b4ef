// Speed and memory of the suffix tree on the shared traces, next to the
// figures of ArcticInference's native C++ tree measured on this machine
// (../shared/golden/*.summary.json). Each configuration is replayed once to
// warm up, then `runs` times; medians are reported.
//   node bench/bench-traces.mjs [runs=5]
import { readdirSync, readFileSync } from "node:fs";
import { cpus } from "node:os";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { simulate } from "../dist/index.js";

const runs = Number(process.argv[2] ?? 5);
const repo = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../..");
const shared = process.env.GLIMPSE_SHARED_DIR ?? resolve(repo, "../shared");
const golden = resolve(shared, "golden");

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function readRows(trace, limit) {
  return readFileSync(resolve(shared, "traces", `${trace}.jsonl`), "utf8")
    .split("\n").filter(Boolean).slice(0, limit)
    .map((l) => JSON.parse(l))
    .map((r) => ({ prompt: Int32Array.from(r.prompt_ids), response: Int32Array.from(r.response_ids) }));
}

console.log(`node ${process.version}, ${cpus().length} x ${cpus()[0]?.model ?? "cpu"}, ${runs} runs after a warm-up, medians`);
console.log("");
console.log("| config | steps | ours: speculate + update us/step | C++: speculate + update us/step | ratio | ours B/cached token | C++ B/cached token |");
console.log("|---|---:|---:|---:|---:|---:|---:|");
for (const file of readdirSync(golden).filter((f) => f.endsWith(".summary.json")).sort()) {
  const ref = JSON.parse(readFileSync(resolve(golden, file), "utf8"));
  const c = ref.config;
  const trace = String(ref.data).match(/traces\/(\w+)\.jsonl/)[1];
  const rows = readRows(trace, ref.num_lines);
  const config = {
    maxDepth: c.max_depth,
    maxSpecTokens: c.max_spec_tokens || c.max_depth,
    maxSpecFactor: c.max_spec_factor,
    maxSpecOffset: c.max_spec_offset,
    minTokenProb: c.min_token_prob,
    useTreeSpec: c.use_tree_spec,
    maxCachedRequests: c.max_cached_requests,
  };
  simulate(rows, config);
  const spec = [];
  const upd = [];
  let last;
  for (let i = 0; i < runs; i++) {
    last = simulate(rows, config);
    spec.push(last.speculate_time_us_per_step);
    upd.push(last.update_time_us_per_step);
  }
  const ours = median(spec) + median(upd);
  const theirs = ref.speculate_time_us_per_step + ref.update_time_us_per_step;
  // The C++ figure covers the global tree; so does ours (no request is active at the end).
  const cachedTokens = last.cached_tokens;
  const refPerToken = ref.global_tree_memory_estimate_bytes / cachedTokens;
  console.log(
    `| ${file.replace(".summary.json", "")} | ${last.total_steps} | ${median(spec).toFixed(2)} + ${median(upd).toFixed(2)} = ${ours.toFixed(2)} | ` +
      `${ref.speculate_time_us_per_step.toFixed(2)} + ${ref.update_time_us_per_step.toFixed(2)} = ${theirs.toFixed(2)} | ` +
      `${(ours / theirs).toFixed(2)} | ${last.memory_bytes_per_cached_token.toFixed(0)} | ${refPerToken.toFixed(0)} |`,
  );
}
