// Runs one ONNX graph once on onnxruntime-node (CPU, optimizations "all", 2 threads) with feeds read from a folder,
// for tests that compare a graph with a reference computed in Python.
// DIR/feeds.json: {"<input>": {"dtype": "float32" | "int64", "dims": [...], "file": "<name>.bin"}} (little-endian).
// Writes DIR/out.<output>.bin for every float32 output and prints {"<output>": {"dims": [...], "file": ...}}.
// Usage: node run_graph.mjs <graph.onnx> <DIR>
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const ort = createRequire(import.meta.url)("onnxruntime-node");
const [file, dir] = process.argv.slice(2);
const spec = JSON.parse(fs.readFileSync(path.join(dir, "feeds.json"), "utf8"));
const Ctor = { float32: Float32Array, int64: BigInt64Array };
const feeds = {};
for (const [name, f] of Object.entries(spec)) {
  const buf = fs.readFileSync(path.join(dir, f.file));
  const C = Ctor[f.dtype];
  if (!C) throw new Error(`${name}: dtype ${f.dtype} (float32 and int64 are supported)`);
  const data = new C(buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength));
  feeds[name] = new ort.Tensor(f.dtype, data, f.dims);
}
const sess = await ort.InferenceSession.create(file, { intraOpNumThreads: 2, graphOptimizationLevel: "all" });
const out = await sess.run(feeds);
const written = {};
for (const [name, t] of Object.entries(out)) {
  if (t.type !== "float32") continue;
  const f = `out.${name}.bin`;
  fs.writeFileSync(path.join(dir, f), Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  written[name] = { dims: t.dims, file: f };
}
console.log(JSON.stringify(written));
