// Tokens/s of node-llama-cpp's LlamaCompletion with SuffixTokenPredictor, with node-llama-cpp's own
// InputLookupTokenPredictor and with no predictor, on the rewrite and JSON workloads of Glimpse's end-to-end
// bench (packages/runtime-cuda/bench/workloads.mjs). Greedy, one request at a time, after a warm-up (which also
// fills the suffix cache, as a running server's would); methods take turns round by round in a rotating order,
// and "x none" is the median of per-round ratios. Every method's text must equal plain decoding's.
//   npm run bench:llama -w @glimpse/suffix-llama [-- --model X.gguf --repeats 5 --threads 1 --suffix-max-tokens 1,4,16]
// Without --model it converts the embedded model (glimpse convert --to gguf, f32) into a temporary folder.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { getLlama, InputLookupTokenPredictor, LlamaCompletion } from "node-llama-cpp";
import { SuffixDecodingCache, SuffixTokenPredictor } from "@glimpse/suffix-llama";
import { loadLine, machineInfo, median, medianRatio, roundOrder } from "../../runtime-cuda/bench/common.mjs";
import { WORKLOADS } from "../../runtime-cuda/bench/workloads.mjs";

const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const { values } = parseArgs({
  options: {
    model: { type: "string" },
    repeats: { type: "string", default: "5" },
    threads: { type: "string", default: "1" },
    workloads: { type: "string", default: "rewrite,json" },
    "suffix-max-tokens": { type: "string", default: "1,16" },
    "lookup-max-tokens": { type: "string", default: "3" },
    "context-size": { type: "string", default: "2048" },
  },
});
const repeats = Number(values.repeats);
const workloads = values.workloads.split(",").map((name) => {
  const w = WORKLOADS.find((x) => x.name === name);
  if (!w) throw new Error(`--workloads: unknown workload ${name}; known: ${WORKLOADS.map((x) => x.name).join(", ")}`);
  return w;
});

let work;
let modelPath = values.model;
if (!modelPath) {
  work = mkdtempSync(join(tmpdir(), "suffix-llama-bench-"));
  modelPath = join(work, "glimpse-coder-tiny-f32.gguf");
  const args = ["convert", "--from", join(REPO, "models/glimpse-coder-tiny"), "--to", "gguf", "--out", modelPath, "--dtype", "f32"];
  const r = spawnSync(process.execPath, [join(REPO, "packages/server/bin/glimpse.js"), ...args], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`glimpse convert --to gguf failed (is packages/server built? npm run build):\n${r.stderr.slice(-2000)}`);
}

console.log(machineInfo());
const llama = await getLlama({ gpu: false, build: "never", logLevel: "error" });
const model = await llama.loadModel({ modelPath });
// One cache for every suffix variant's own sequence would mix them; each variant gets its own, shared by
// nothing else, as one server process would have.
const methods = { none: () => undefined };
for (const k of values["suffix-max-tokens"].split(",").map(Number)) {
  methods[`suffix(max ${k})`] = () => new SuffixTokenPredictor({ cache: new SuffixDecodingCache({ maxCachedRequests: 1000 }), maxTokens: k });
}
for (const k of values["lookup-max-tokens"].split(",").map(Number)) {
  methods[`input-lookup(max ${k})`] = () => new InputLookupTokenPredictor({ predictionLength: { max: k } });
}
const names = Object.keys(methods);
const context = await model.createContext({ contextSize: Number(values["context-size"]), sequences: names.length, threads: Number(values.threads) });
const sequences = Object.fromEntries(names.map((n) => [n, context.getSequence({ tokenPredictor: methods[n]() })]));
console.log(`model ${modelPath}; node-llama-cpp CPU, ${values.threads} thread(s); greedy, batch 1, median of ${repeats} rounds`);

async function runWorkload(name, w, maxTokens = w.maxTokens) {
  const sequence = sequences[name];
  const completion = new LlamaCompletion({ contextSequence: sequence });
  const before = { ...sequence.tokenPredictions };
  let tokens = 0;
  const texts = [];
  const t0 = performance.now();
  for (const p of w.prompts) {
    texts.push(await completion.generateCompletion(model.tokenize(p, true), { maxTokens, temperature: 0, onToken: (t) => { tokens += t.length; } }));
  }
  const seconds = (performance.now() - t0) / 1000;
  completion.dispose({ disposeSequence: false });
  const after = sequence.tokenPredictions;
  return { rate: tokens / seconds, tokens, texts, validated: after.validated - before.validated, refuted: after.refuted - before.refuted };
}

let mismatches = 0;
const results = {};
for (const w of workloads) {
  for (const name of names) await runWorkload(name, w, 16); // warm-up
  const runs = Object.fromEntries(names.map((n) => [n, []]));
  const units = names.map((n) => ({ label: n }));
  for (let r = 0; r < repeats; r++) {
    for (const [unit] of roundOrder(units, [{ label: "" }], r)) runs[unit.label].push(await runWorkload(unit.label, w));
    for (const name of names) {
      const got = runs[name][r].texts;
      const want = runs.none[r].texts;
      got.forEach((t, i) => { if (t !== want[i]) { mismatches++; console.log(`MISMATCH: ${name}, ${w.name} prompt ${i}, round ${r}`); } });
    }
  }
  results[w.name] = Object.fromEntries(names.map((n) => {
    const own = runs[n];
    const sum = (k) => own.reduce((s, x) => s + x[k], 0);
    return [n, {
      tps: median(own.map((x) => x.rate)),
      ratio: medianRatio(own.map((x) => x.rate), runs.none.map((x) => x.rate)),
      validatedPerToken: sum("validated") / sum("tokens"),
      refutedPerToken: sum("refuted") / sum("tokens"),
    }];
  }));
}
for (const s of Object.values(sequences)) s.dispose();
await context.dispose();
await model.dispose();
await llama.dispose();
if (work) rmSync(work, { recursive: true, force: true });

const header = ["method", ...workloads.map((w) => `${w.name} tok/s (x none; validated, refuted per token)`)];
console.log(`\n| ${header.join(" | ")} |\n|${header.map(() => "---").join("|")}|`);
for (const name of names) {
  const cells = workloads.map((w) => {
    const r = results[w.name][name];
    return `${r.tps.toFixed(1)} (${r.ratio.toFixed(2)}x; ${r.validatedPerToken.toFixed(2)}, ${r.refutedPerToken.toFixed(2)})`;
  });
  console.log(`| ${name} | ${cells.join(" | ")} |`);
}
console.log(`\ngreedy texts vs plain decoding: ${mismatches ? `${mismatches} MISMATCHES` : "all identical"}`);
console.log(loadLine());
if (mismatches) process.exitCode = 1;
