// Decode speed of a converted graph on onnxruntime-node CPU: a 128-token prefill, then N one-token steps at
// batch 1 (HF layout: the full present is fed back). Usage: node bench_decode.mjs <graph.onnx> [steps] [threads]
import { createRequire } from "node:module";

const ort = createRequire(import.meta.url)("onnxruntime-node");
const [file, stepsArg = "32", threadsArg = "2"] = process.argv.slice(2);
const sess = await ort.InferenceSession.create(file, {
  intraOpNumThreads: Number(threadsArg), interOpNumThreads: 1, graphOptimizationLevel: "all",
  extra: { session: { intra_op: { allow_spinning: "0" } } },
});
const meta = sess.inputMetadata.find((m) => m.name === "past_key_values.0.key");
const kvType = meta?.type ?? "float32";
const [, kv, , hd] = meta.shape;
const layers = sess.inputNames.filter((n) => n.startsWith("past_key_values.") && n.endsWith(".key")).length;
const i64 = (a, dims) => new ort.Tensor("int64", BigInt64Array.from(a.map(BigInt)), dims);
const Ctor = kvType === "float16" ? Uint16Array : Float32Array;
let past = Array.from({ length: 2 * layers }, () => new ort.Tensor(kvType, new Ctor(0), [1, kv, 0, hd]));
async function step(tokens, start) {
  const s = tokens.length;
  const feeds = { input_ids: i64(tokens, [1, s]), position_ids: i64(tokens.map((_, j) => start + j), [1, s]),
    attention_mask: i64(new Array(start + s).fill(1), [1, start + s]),
    num_logits_to_keep: new ort.Tensor("int64", BigInt64Array.from([1n]), []) };
  past.forEach((p, j) => { feeds[`past_key_values.${j >> 1}.${j & 1 ? "value" : "key"}`] = p; });
  const out = await sess.run(feeds);
  past = past.map((_, j) => out[`present.${j >> 1}.${j & 1 ? "value" : "key"}`]);
}
const prompt = Array.from({ length: 128 }, (_, j) => (j * 7919) % 1000 + 10);
let t = performance.now();
await step(prompt, 0);
const prefillMs = performance.now() - t;
await step([11], 128); // warm-up
const steps = Number(stepsArg);
t = performance.now();
for (let i = 0; i < steps; i++) await step([12 + i], 129 + i);
const ms = (performance.now() - t) / steps;
console.log(JSON.stringify({ graph: file.split("/").pop(), prefill_128_ms: Math.round(prefillMs), decode_ms: +ms.toFixed(2), tokens_per_s: +(1000 / ms).toFixed(1) }));
