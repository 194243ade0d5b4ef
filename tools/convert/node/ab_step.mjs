// Two tree graphs (model_tree*.onnx) side by side on onnxruntime-node's CPU provider, with the engine's session
// options: both loaded at once, taking turns run by run (the order alternating), so a shared, noisy machine slows
// both alike. Step kinds: a decode step (1 new token) and a verify step (S new tokens, causal chain), each over a
// cache of P random positions, rounds x reps runs of each. Prints per graph the median and fastest run, the median
// of the paired ratios (A / B time of adjacent runs, so > 1 means B is faster), the same for the process's CPU time
// per run (less sensitive to other jobs than wall time) and, as a check, the largest |logit| difference.
// With prefill > 0, also a prefill step: that many tokens on an empty cache, logits of the last one only.
// Usage: node ab_step.mjs <A.onnx> <B.onnx> [past=256] [verify=16] [rounds=7] [reps=3] [threads=2] [prefill=0]
import { createRequire } from "node:module";

const ort = createRequire(import.meta.url)("onnxruntime-node");
const [fa, fb, pastArg = "256", verifyArg = "16", roundsArg = "7", repsArg = "3", threadsArg = "2", prefillArg = "0"] = process.argv.slice(2);
if (!fa || !fb) throw new Error("usage: node ab_step.mjs <A.onnx> <B.onnx> [past] [verify] [rounds] [reps] [threads]");
const P = Number(pastArg), rounds = Number(roundsArg), reps = Number(repsArg);
const opts = { intraOpNumThreads: Number(threadsArg), interOpNumThreads: 1, graphOptimizationLevel: "all",
  extra: { session: { intra_op: { allow_spinning: process.env.GLIMPSE_SPIN ?? "0" } } } };
const sessions = [await ort.InferenceSession.create(fa, opts), await ort.InferenceSession.create(fb, opts)];
const meta = sessions[0].inputMetadata.find((m) => m.name === "past_key_values.0.key");
const [, KV, , HD] = meta.shape;
const L = sessions[0].inputNames.filter((n) => /^past_key_values\.\d+\.key$/.test(n)).length;
let seed = 7;
const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5);
const cache = (p) => Array.from({ length: 2 * L }, () => new ort.Tensor("float32", Float32Array.from({ length: KV * p * HD }, rnd), [1, KV, p, HD]));
const past = cache(P), empty = cache(0);
const i64 = (a, dims) => new ort.Tensor("int64", BigInt64Array.from(a.map(BigInt)), dims);

function feeds(s, P = past[0].dims[2], kv = past, keep = s) {
  const t = P + s, m = new Float32Array(s * t);
  for (let q = 0; q < s; q++) for (let k = 0; k < t; k++) m[q * t + k] = k <= P + q ? 0 : -1e9;
  const f = { input_ids: i64(Array.from({ length: s }, (_, j) => 1000 + 37 * j), [1, s]),
    position_ids: i64(Array.from({ length: s }, (_, j) => P + j), [1, s]),
    attention_mask: new ort.Tensor("float32", m, [1, 1, s, t]), num_logits_to_keep: i64([keep], []) };
  kv.forEach((p, j) => { f[`past_key_values.${j >> 1}.${j & 1 ? "value" : "key"}`] = p; });
  return f;
}
const kinds = [["decode", feeds(1)], ["verify", feeds(Number(verifyArg))]];
if (Number(prefillArg) > 0) kinds.push(["prefill", feeds(Number(prefillArg), 0, empty, 1)]);
const times = Object.fromEntries(kinds.map(([k]) => [k, [[], []]]));
const cpu = Object.fromEntries(kinds.map(([k]) => [k, [[], []]])); // process CPU ms (user + system) per run
let maxDiff = 0;
for (const [, f] of kinds) { // warm-up, and the outputs of A and B compared once
  const outs = [];
  for (const s of sessions) outs.push((await s.run(f)).logits.data);
  outs[0].forEach((x, i) => { maxDiff = Math.max(maxDiff, Math.abs(x - outs[1][i])); });
}
for (let r = 0; r < rounds; r++) {
  for (const [kind, f] of kinds) for (let k = 0; k < reps; k++) {
    const t = [0, 0], c = [0, 0];
    for (const g of (r * reps + k) % 2 ? [1, 0] : [0, 1]) {
      const c0 = process.cpuUsage(), t0 = performance.now();
      await sessions[g].run(f);
      t[g] = performance.now() - t0;
      const dc = process.cpuUsage(c0);
      c[g] = (dc.user + dc.system) / 1000;
    }
    for (const g of [0, 1]) { times[kind][g].push(t[g]); cpu[kind][g].push(c[g]); }
  }
}
const med = (a) => [...a].sort((x, y) => x - y)[a.length >> 1];
const result = { a: fa, b: fb, past: P, rounds, reps, max_abs_logit_diff: maxDiff };
for (const [kind] of kinds) {
  const [ta, tb] = times[kind];
  result[kind] = { a_ms: +med(ta).toFixed(2), b_ms: +med(tb).toFixed(2), a_min_ms: +Math.min(...ta).toFixed(2),
    b_min_ms: +Math.min(...tb).toFixed(2), ratio_a_over_b: +med(ta.map((x, i) => x / tb[i])).toFixed(3),
    a_cpu_ms: +med(cpu[kind][0]).toFixed(2), b_cpu_ms: +med(cpu[kind][1]).toFixed(2),
    cpu_ratio_a_over_b: +med(cpu[kind][0].map((x, i) => x / cpu[kind][1][i])).toFixed(3) };
}
for (const s of sessions) await s.release?.();
console.log(JSON.stringify(result));
