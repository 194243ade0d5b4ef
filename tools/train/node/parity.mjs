// Runs the parity cases written by `python3 -m glimpse_train.parity` with onnxruntime-node (CPU) and prints
// max |ONNX - PyTorch| per case and output. Usage: node node/parity.mjs <parity dir> [out.json]
import fs from "node:fs";
import path from "node:path";
import { ort, sessionOptions } from "./resolve.mjs";

const dir = process.argv[2];
const manifest = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"));
const O = await ort();

function read(t) {
  const buf = fs.readFileSync(path.join(dir, t.file));
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  const data = t.dtype === "int64" ? new BigInt64Array(ab) : new Float32Array(ab);
  return new O.Tensor(t.dtype, data, t.dims);
}

const sessions = {};
const results = [];
let worst = 0;
for (const c of manifest.cases) {
  sessions[c.model] ??= await O.InferenceSession.create(path.join(manifest.model_dir, "onnx", c.model), sessionOptions);
  const feeds = Object.fromEntries(Object.entries(c.inputs).map(([k, t]) => [k, read(t)]));
  const out = await sessions[c.model].run(feeds);
  const diffs = {};
  for (const [k, t] of Object.entries(c.expected)) {
    const want = read(t).data;
    const got = out[k].data;
    if (got.length !== want.length) throw new Error(`${c.name}: ${k} has ${got.length} values, want ${want.length}`);
    let d = 0;
    for (let i = 0; i < got.length; i++) d = Math.max(d, Math.abs(got[i] - want[i]));
    diffs[k] = d;
  }
  const maxLogits = diffs.logits;
  const maxHidden = diffs.last_hidden_state;
  const maxPresent = Math.max(0, ...Object.entries(diffs).filter(([k]) => k.startsWith("present")).map(([, v]) => v));
  worst = Math.max(worst, maxLogits, maxHidden, maxPresent);
  results.push({ case: c.name, model: c.model, logits: maxLogits, last_hidden_state: maxHidden, present: maxPresent });
  console.log(`${c.name.padEnd(52)} ${c.model.padEnd(16)} logits ${maxLogits.toExponential(2)}  hidden ${maxHidden.toExponential(2)}  present ${maxPresent.toExponential(2)}`);
}
console.log(`max abs diff over all cases: ${worst.toExponential(2)} (bar 1e-4): ${worst <= 1e-4 ? "PASS" : "FAIL"}`);
if (process.argv[3]) fs.writeFileSync(process.argv[3], JSON.stringify({ max_abs_diff: worst, results }, null, 1));
process.exit(worst <= 1e-4 ? 0 : 1);
