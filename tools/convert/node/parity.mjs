// Replays the torch reference (glimpse_convert/reference.py) through onnxruntime-node (CPU): an 8-token prefill
// (num_logits_to_keep 0), two 1-token decode steps fed the reference's greedy tokens, and a prefill with
// num_logits_to_keep 1 that must equal the last row of the full one. Prints one JSON line per graph.
// Usage: node parity.mjs <reference dir> <graph.onnx>...
import fs from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";

const ort = createRequire(import.meta.url)("onnxruntime-node");
const [dir, ...graphs] = process.argv.slice(2);
const man = JSON.parse(fs.readFileSync(path.join(dir, "manifest.json"), "utf8"));
const refBuf = fs.readFileSync(path.join(dir, man.logits.file));
const ref = new Float32Array(refBuf.buffer, refBuf.byteOffset, refBuf.byteLength / 4);
const V = man.vocab_size;

// float16 bits -> number (Node 20 has no Float16Array)
function halfToFloat(h) {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * f * 2 ** -24;
  if (e === 31) return f ? NaN : s * Infinity;
  return s * (1 + f / 1024) * 2 ** (e - 15);
}
const toFloat = (t) => (t.type === "float16" ? Float32Array.from(t.data, halfToFloat) : t.data);
const i64 = (arr, dims) => new ort.Tensor("int64", BigInt64Array.from(arr.map(BigInt)), dims);

/** Appends the new positions [1, kv, s, hd] to the cache [1, kv, p, hd] along axis 2. */
function append(past, add, kv, hd) {
  const p = past.dims[2], s = add.dims[2];
  const out = new past.data.constructor(kv * (p + s) * hd);
  for (let h = 0; h < kv; h++) {
    out.set(past.data.subarray(h * p * hd, (h + 1) * p * hd), h * (p + s) * hd);
    out.set(add.data.subarray(h * s * hd, (h + 1) * s * hd), h * (p + s) * hd + p * hd);
  }
  return new ort.Tensor(past.type, out, [1, kv, p + s, hd]);
}

async function runGraph(file) {
  const tree = path.basename(file).startsWith("model_tree");
  const sess = await ort.InferenceSession.create(file, { intraOpNumThreads: 2, graphOptimizationLevel: "all" });
  const kvType = sess.inputMetadata?.find?.((m) => m.name === "past_key_values.0.key")?.type ?? "float32";
  const kvCtor = kvType === "float16" ? Uint16Array : Float32Array;
  const { layers: L, kv_heads: KV, head_dim: HD } = man;
  let past = [];
  for (let i = 0; i < 2 * L; i++) past.push(new ort.Tensor(kvType, new kvCtor(0), [1, KV, 0, HD]));
  const rows = [];
  const call = async (tokens, start, keep) => {
    const s = tokens.length, t = start + s;
    const feeds = { input_ids: i64(tokens, [1, s]), position_ids: i64(tokens.map((_, j) => start + j), [1, s]),
      num_logits_to_keep: new ort.Tensor("int64", BigInt64Array.from([BigInt(keep)]), []) };
    if (tree) {
      const m = new Float32Array(s * t);
      for (let q = 0; q < s; q++) for (let k = 0; k < t; k++) m[q * t + k] = k <= start + q ? 0 : -1e9;
      feeds.attention_mask = new ort.Tensor("float32", m, [1, 1, s, t]);
    } else feeds.attention_mask = i64(new Array(t).fill(1), [1, t]);
    for (let i = 0; i < L; i++) {
      feeds[`past_key_values.${i}.key`] = past[2 * i];
      feeds[`past_key_values.${i}.value`] = past[2 * i + 1];
    }
    return sess.run(feeds);
  };
  const t0 = performance.now();
  let out = await call(man.prompt, 0, 0);
  const full = toFloat(out.logits);
  rows.push(full);
  const prefix = tree ? "present_append" : "present";
  const nextPast = (o) => past.map((p, j) => {
    const name = `${prefix}.${j >> 1}.${j & 1 ? "value" : "key"}`;
    return tree ? append(p, o[name], KV, HD) : o[name];
  });
  past = nextPast(out);
  for (let step = 0; step < man.decode_tokens.length; step++) {
    out = await call([man.decode_tokens[step]], man.prompt.length + step, 1);
    rows.push(toFloat(out.logits));
    past = nextPast(out);
  }
  const ms = performance.now() - t0;
  // num_logits_to_keep = 1 on a fresh prefill: must be the last row of the full prefill
  past = past.map(() => new ort.Tensor(kvType, new kvCtor(0), [1, KV, 0, HD]));
  const last = toFloat((await call(man.prompt, 0, 1)).logits);
  let keepDiff = last.length === V ? 0 : Infinity;
  const lastFull = full.subarray(full.length - V);
  for (let j = 0; j < V && keepDiff !== Infinity; j++) keepDiff = Math.max(keepDiff, Math.abs(last[j] - lastFull[j]));
  const got = new Float32Array(ref.length);
  let off = 0;
  for (const r of rows) { got.set(r, off); off += r.length; }
  if (off !== ref.length) throw new Error(`${file}: ${off} logits, reference has ${ref.length}`);
  let worst = 0, agree = 0;
  const positions = ref.length / V;
  for (let p = 0; p < positions; p++) {
    let a = 0, b = 0;
    for (let j = 0; j < V; j++) {
      const k = p * V + j;
      worst = Math.max(worst, Math.abs(got[k] - ref[k]));
      if (got[k] > got[p * V + a]) a = j;
      if (ref[k] > ref[p * V + b]) b = j;
    }
    if (a === b) agree++;
  }
  await sess.release?.();
  return { graph: path.basename(file), max_abs_logit_diff: worst, greedy_agree: agree, positions, keep_last_diff: keepDiff, ms: Math.round(ms) };
}

for (const g of graphs) console.log(JSON.stringify(await runGraph(g)));
