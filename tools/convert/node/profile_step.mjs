// Where one forward pass of a tree graph (model_tree*.onnx) spends its time, by onnxruntime's profiler (CPU, the
// engine's session options): a decode step (1 new token) and a verify step (S new tokens, causal chain) over a cache
// of P random positions. Prints, per step kind, ms per run (model_run), the sum of kernel times, and per op type
// its ms per run, node count and share of the kernel time; then one JSON line with the same numbers.
// Usage: node profile_step.mjs <model_tree*.onnx> [past=256] [verify=16] [runs=5] [threads=2]
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";

const ort = createRequire(import.meta.url)("onnxruntime-node");
const [file, pastArg = "256", verifyArg = "16", runsArg = "5", threadsArg = "2"] = process.argv.slice(2);
if (!file) throw new Error("usage: node profile_step.mjs <model_tree*.onnx> [past] [verify] [runs] [threads]");
const P = Number(pastArg), runs = Number(runsArg);
const prefix = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "glimpse-prof-")), "prof");
const sess = await ort.InferenceSession.create(file, {
  intraOpNumThreads: Number(threadsArg), interOpNumThreads: 1, graphOptimizationLevel: "all",
  enableProfiling: true, profileFilePrefix: prefix,
  extra: { session: { intra_op: { allow_spinning: "0" } } },
});
const meta = sess.inputMetadata.find((m) => m.name === "past_key_values.0.key");
const [, KV, , HD] = meta.shape;
const L = sess.inputNames.filter((n) => /^past_key_values\.\d+\.key$/.test(n)).length;
const half = meta.type === "float16";
const i64 = (a, dims) => new ort.Tensor("int64", BigInt64Array.from(a.map(BigInt)), dims);
let seed = 1;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5);
const past = Array.from({ length: 2 * L }, () => {
  const n = KV * P * HD;
  return half ? new ort.Tensor("float16", new Uint16Array(n).fill(0x2e66), [1, KV, P, HD])
    : new ort.Tensor("float32", Float32Array.from({ length: n }, rnd), [1, KV, P, HD]);
});

function feeds(s) {
  const t = P + s, m = new Float32Array(s * t);
  for (let q = 0; q < s; q++) for (let k = 0; k < t; k++) m[q * t + k] = k <= P + q ? 0 : -1e9;
  const f = { input_ids: i64(Array.from({ length: s }, (_, j) => 100 + j), [1, s]),
    position_ids: i64(Array.from({ length: s }, (_, j) => P + j), [1, s]),
    attention_mask: new ort.Tensor("float32", m, [1, 1, s, t]),
    num_logits_to_keep: i64([s], []) };
  past.forEach((p, j) => { f[`past_key_values.${j >> 1}.${j & 1 ? "value" : "key"}`] = p; });
  if (!sess.inputNames.includes("num_logits_to_keep")) delete f.num_logits_to_keep;
  return f;
}

const kinds = [["decode", 1], ["verify", Number(verifyArg)]];
const plan = []; // kind per model_run, in order (the first run of each kind is a warm-up, left out)
for (const [kind, s] of kinds) {
  const f = feeds(s);
  for (let r = 0; r <= runs; r++) { await sess.run(f); plan.push(r === 0 ? null : kind); }
}
const profFile = sess.endProfiling?.() ?? null;
await sess.release?.();
const dir = path.dirname(prefix);
const jsonFile = profFile && fs.existsSync(profFile) ? profFile : path.join(dir, fs.readdirSync(dir).find((n) => n.endsWith(".json")));
const events = JSON.parse(fs.readFileSync(jsonFile, "utf8"));
const runsEv = events.filter((e) => e.cat === "Session" && e.name === "model_run").sort((a, b) => a.ts - b.ts);
if (runsEv.length !== plan.length) throw new Error(`${runsEv.length} model_run events, expected ${plan.length}`);
const result = { graph: path.basename(file), past: P, threads: Number(threadsArg), steps: {} };
for (const [kind, s] of kinds) {
  const mine = runsEv.filter((_, i) => plan[i] === kind);
  const inRun = (e) => mine.some((r) => e.ts >= r.ts && e.ts <= r.ts + r.dur);
  const byOp = new Map(), byNode = new Map();
  let kernel = 0;
  for (const e of events) {
    if (e.cat !== "Node" || !e.name.endsWith("_kernel_time") || !inRun(e)) continue;
    const op = e.args?.op_name ?? "?";
    const o = byOp.get(op) ?? { us: 0, n: 0 };
    o.us += e.dur; o.n += 1; byOp.set(op, o);
    const key = `${op} ${e.name.replace(/_kernel_time$/, "").replace(/layers\.\d+/g, "layers.N")}`;
    byNode.set(key, (byNode.get(key) ?? 0) + e.dur);
    kernel += e.dur;
  }
  const runMs = mine.reduce((a, r) => a + r.dur, 0) / mine.length / 1000;
  const ops = [...byOp.entries()].map(([op, o]) => ({ op, ms: +(o.us / mine.length / 1000).toFixed(3),
    nodes: o.n / mine.length, share: +(o.us / kernel).toFixed(4) })).sort((a, b) => b.ms - a.ms);
  const nodes = ops.reduce((a, o) => a + o.nodes, 0);
  const matmul = ops.filter((o) => /MatMul|Gemm/.test(o.op)).reduce((a, o) => a + o.ms, 0);
  const top = [...byNode.entries()].sort((x, y) => y[1] - x[1]).slice(0, 12)
    .map(([node, us]) => ({ node, ms: +(us / mine.length / 1000).toFixed(3) }));
  result.steps[kind] = { new_tokens: s, run_ms: +runMs.toFixed(2), kernel_ms: +(kernel / mine.length / 1000).toFixed(2),
    nodes, matmul_ms: +matmul.toFixed(2), ops, top_nodes: top };
  console.log(`\n${result.graph} ${kind} (${s} new, past ${P}): run ${runMs.toFixed(2)} ms, kernels ${(kernel / mine.length / 1000).toFixed(2)} ms, ${nodes} nodes, MatMul-family ${matmul.toFixed(2)} ms`);
  console.log("| op | ms/run | nodes | share of kernel time |\n|---|---|---|---|");
  for (const o of ops) console.log(`| ${o.op} | ${o.ms.toFixed(3)} | ${o.nodes} | ${(100 * o.share).toFixed(1)}% |`);
  console.log(`top nodes (all layers summed): ${top.map((t) => `${t.node} ${t.ms.toFixed(2)}`).join("; ")}`);
}
fs.rmSync(dir, { recursive: true, force: true });
console.log(JSON.stringify(result));
