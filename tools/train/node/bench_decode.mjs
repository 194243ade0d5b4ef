// Latency of the exported model with onnxruntime-node on CPU (2 intra-op threads, batch 1):
// one decode step (1 new token) at past 256 and 1024, verifying 4/16 tokens at past 1024, one speculator call.
// Usage: node node/bench_decode.mjs <model dir> [out.json]. Reports medians over many runs after warm-up.
import fs from "node:fs";
import path from "node:path";
import { ort, sessionOptions } from "./resolve.mjs";

const dir = process.argv[2];
const O = await ort();
const cfg = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"));
const hd = cfg.head_dim, kv = cfg.num_key_value_heads, L = cfg.num_hidden_layers;
const session = await O.InferenceSession.create(path.join(dir, "onnx", "model.onnx"), sessionOptions);

function feeds(past, s) {
  const f = {
    input_ids: new O.Tensor("int64", BigInt64Array.from({ length: s }, (_, i) => BigInt(100 + i)), [1, s]),
    attention_mask: new O.Tensor("int64", new BigInt64Array(past + s).fill(1n), [1, past + s]),
    position_ids: new O.Tensor("int64", BigInt64Array.from({ length: s }, (_, i) => BigInt(past + i)), [1, s]),
  };
  for (let i = 0; i < L; i++)
    for (const n of ["key", "value"]) {
      const data = new Float32Array(kv * past * hd);
      for (let j = 0; j < data.length; j++) data[j] = Math.sin(j) * 0.5;
      f[`past_key_values.${i}.${n}`] = new O.Tensor("float32", data, [1, kv, past, hd]);
    }
  return f;
}

async function median(run, iters) {
  for (let i = 0; i < 20; i++) await run();
  const t = [];
  for (let i = 0; i < iters; i++) {
    const t0 = process.hrtime.bigint();
    await run();
    t.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  t.sort((a, b) => a - b);
  return { median_ms: +t[Math.floor(t.length / 2)].toFixed(3), p10_ms: +t[Math.floor(t.length * 0.1)].toFixed(3), p90_ms: +t[Math.floor(t.length * 0.9)].toFixed(3) };
}

const res = { device: "CPU, onnxruntime-node, intraOpNumThreads 2, batch 1" };
for (const [past, s] of [[256, 1], [1024, 1], [1024, 4], [1024, 16]]) {
  const f = feeds(past, s);
  res[`past${past}_new${s}`] = await median(() => session.run(f), 200);
  console.log(`past ${past}, ${s} new token(s):`, res[`past${past}_new${s}`]);
}
for (const m of ["mlp", "lstm"]) {
  const p = path.join(dir, `speculator-${m}`, "model.onnx");
  if (!fs.existsSync(p)) continue;
  const sp = await O.InferenceSession.create(p, sessionOptions);
  const f = { hidden_state: new O.Tensor("float32", new Float32Array(cfg.hidden_size).fill(0.1), [1, cfg.hidden_size]), last_token: new O.Tensor("int64", BigInt64Array.from([100n]), [1]) };
  res[`speculator_${m}`] = await median(() => sp.run(f), 200);
  console.log(`speculator ${m}:`, res[`speculator_${m}`]);
}
if (process.argv[3]) fs.writeFileSync(process.argv[3], JSON.stringify(res, null, 1));
