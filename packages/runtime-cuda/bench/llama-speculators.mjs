// The proposers on the embedded model (whose MLP and LSTM speculators ship beside it), on both backends:
// onnxruntime (the ONNX folder) and llama.cpp (its f32 GGUF export, made here by tools/convert). On llama.cpp the
// speculators' hidden states cost one more one-token evaluation per step (src/backend/llama/llama-hidden.ts);
// this shows what that costs against plain decoding and suffix decoding on the same backend.
// Every engine stays loaded; each prompt runs on every (backend, method) back to back, in an order rotating with
// the prompt and the round, one request at a time, greedy. Prints decode tokens/s (prefill excluded) per
// workload, the medians over rounds of the per-round ratio to plain on the same backend, and checks every output
// equals plain decoding's.
//   node packages/runtime-cuda/bench/llama-speculators.mjs [--rounds 3] [--prompts 3] [--max-tokens 96] [--threads N] [--json]
// Needs node-llama-cpp (`npm run setup:llama`) and the Python converter (tools/convert, numpy and onnx).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { DEFAULT_MODEL, loadLine, machineInfo, median, OWN_DIST, threadOptions } from "./common.mjs";
import { WORKLOADS } from "./workloads.mjs";

const { values } = parseArgs({
  options: {
    rounds: { type: "string", default: "3" },
    prompts: { type: "string", default: "3" },
    "max-tokens": { type: "string", default: "96" },
    threads: { type: "string" },
    json: { type: "boolean", default: false },
  },
});
const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const METHODS = {
  plain: null,
  suffix: { method: "suffix" },
  mlp: { method: "arctic", model: join(DEFAULT_MODEL, "speculator-mlp"), num_speculative_tokens: 3 },
  lstm: { method: "arctic", model: join(DEFAULT_MODEL, "speculator-lstm"), num_speculative_tokens: 3 },
  hybrid: { method: "arctic", model: join(DEFAULT_MODEL, "speculator-lstm"), num_speculative_tokens: 3, enable_suffix_decoding: true },
};
const rounds = Number(values.rounds);
const maxTokens = Number(values["max-tokens"]);
const { Engine } = await import(OWN_DIST);

const work = mkdtempSync(join(tmpdir(), "glimpse-llama-speculators-"));
process.env.GLIMPSE_CACHE_DIR = join(work, "cache");
try {
  const gguf = join(work, "tiny-f32.gguf");
  execFileSync(process.env.GLIMPSE_PYTHON ?? "/usr/bin/python3", ["-m", "glimpse_convert", "--from", DEFAULT_MODEL, "--to", "gguf", "--out", gguf, "--dtype", "f32"],
    { env: { ...process.env, PYTHONPATH: join(REPO, "tools/convert") }, stdio: ["ignore", "ignore", "inherit"] });
  const units = [];
  for (const [backend, path] of [["onnxruntime", DEFAULT_MODEL], ["llama.cpp", gguf]]) {
    for (const [method, spec] of Object.entries(METHODS)) {
      const engine = await Engine.load(path, { speculativeConfig: spec, maxBatchSize: 1, ...threadOptions(values.threads) });
      units.push({ backend, method, engine });
    }
  }
  const workloads = WORKLOADS.map((w) => ({ ...w, prompts: w.prompts.slice(0, Number(values.prompts)) }));
  // rates[workload][unit][round]: decode tokens/s over the round's prompts.
  const rates = workloads.map(() => units.map(() => []));
  let mismatches = 0;
  for (let round = 0; round < rounds; round++) {
    for (const [w, workload] of workloads.entries()) {
      const totals = units.map(() => ({ tokens: 0, ms: 0 }));
      for (const [p, prompt] of workload.prompts.entries()) {
        const plainOut = new Map();
        for (let k = 0; k < units.length; k++) {
          const u = (k + p + round) % units.length;
          const r = await units[u].engine.generate({ prompt, maxTokens: Math.min(maxTokens, workload.maxTokens), temperature: 0 });
          totals[u].tokens += r.tokenIds.length - 1;
          totals[u].ms += r.metrics.totalMs - r.metrics.timeToFirstTokenMs;
          const key = `${units[u].backend}`;
          if (units[u].method === "plain") plainOut.set(key, r.tokenIds.join(","));
          else (units[u].outputs ??= []).push([key, r.tokenIds.join(",")]);
        }
        for (const u of units) for (const [key, out] of u.outputs?.splice(0) ?? []) if (out !== plainOut.get(key)) mismatches++;
      }
      totals.forEach((t, u) => rates[w][u].push((1000 * t.tokens) / t.ms));
    }
  }
  const result = workloads.map((workload, w) => ({
    workload: workload.name,
    units: units.map((u, i) => {
      const plain = units.findIndex((x) => x.backend === u.backend && x.method === "plain");
      return { backend: u.backend, method: u.method, tokensPerS: Number(median(rates[w][i]).toFixed(1)), vsPlain: Number(median(rates[w][i].map((x, r) => x / rates[w][plain][r])).toFixed(3)) };
    }),
  }));
  for (const u of units) await u.engine.close();
  if (values.json) console.log(JSON.stringify({ result, mismatches }));
  else {
    console.log(machineInfo());
    for (const r of result) {
      console.log(`\n${r.workload} (decode tokens/s, median of ${rounds} rounds; x = median per-round ratio to plain on the same backend)`);
      for (const u of r.units) console.log(`  ${u.backend.padEnd(12)} ${u.method.padEnd(7)} ${String(u.tokensPerS).padStart(8)}  ${u.vsPlain.toFixed(2)}x`);
    }
    console.log(`\ngreedy outputs vs plain decoding on the same backend: ${mismatches} mismatches`);
    console.log(loadLine());
  }
  if (mismatches) process.exitCode = 1;
} finally {
  rmSync(work, { recursive: true, force: true });
}
