// One dtype of one converted model, measured in a process of its own (so peak RSS
// is this model's): load time with and without suffix decoding, prefill tokens/s,
// plain decode tokens/s at batch 1 and 8, the verify-cost curve, peak RSS. Prints
// one JSON line. Run by real-size.mjs; alone:
//   node bench/real-size-measure.mjs --model DIR --dtype fp32 [--mode speed|rss|concurrency] [--tokens 32] [--prompt 512] [--threads N]
// (concurrency: only one request vs eight at once, end to end, prompts of --prompt tokens)
import { readFileSync, readdirSync, statSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { OWN_DIST, median, threadOptions } from "./common.mjs";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    dtype: { type: "string", default: "fp32" },
    mode: { type: "string", default: "speed" },
    tokens: { type: "string", default: "32" },
    threads: { type: "string" },
    ks: { type: "string", default: "0,1,2,4,8,16,24,32" },
    contexts: { type: "string", default: "512,2048" },
    prompt: { type: "string", default: "512" },
  },
});
const dir = values.model;
const T = Number(values.tokens);
const threads = threadOptions(values.threads);
const { Engine, readModelConfig } = await import(OWN_DIST);
const config = readModelConfig(dir);

/** Prompt ids from a real trace (Qwen3 token ids), folded into this vocabulary. */
function tracePrompt(length, offset = 0) {
  const rows = readFileSync(new URL("../../../../shared/traces/agentic.jsonl", import.meta.url), "utf8").split("\n").filter(Boolean);
  const ids = [];
  for (let i = offset; ids.length < length; i++) ids.push(...JSON.parse(rows[i % rows.length]).prompt_ids);
  return ids.slice(0, length).map((id) => id % config.vocabSize);
}

const maxRssMiB = () => process.resourceUsage().maxRSS / 1024;
const out = { dtype: values.dtype };
const P = Number(values.prompt);

/** Three requests one at a time, then eight at once: tokens/s end to end (prefill included) and of decoding alone. */
async function oneVersusEight(engine) {
  const one = [];
  for (let i = 0; i < 3; i++) one.push(await engine.generate({ promptIds: tracePrompt(P, i), maxTokens: T, temperature: 0, ignoreEos: true }));
  const r = {
    prefillTokensPerS: median(one.map((x) => P / (x.metrics.timeToFirstTokenMs / 1000))),
    decodeTokensPerS: median(one.map((x) => (T - 1) / ((x.metrics.totalMs - x.metrics.timeToFirstTokenMs) / 1000))),
    oneRequestE2eTokensPerS: median(one.map((x) => T / (x.metrics.totalMs / 1000))),
  };
  const t8 = performance.now();
  const eight = await Promise.all(Array.from({ length: 8 }, (_, i) => engine.generate({ promptIds: tracePrompt(P, 10 + i), maxTokens: T, temperature: 0, ignoreEos: true })));
  const wall8 = (performance.now() - t8) / 1000;
  r.batch8E2eTokensPerS = (8 * T) / wall8;
  r.batch8OverOne = r.batch8E2eTokensPerS / r.oneRequestE2eTokensPerS;
  const lastFirst = Math.max(...eight.map((x) => x.metrics.timeToFirstTokenMs));
  r.batch8DecodeTokensPerS = (8 * (T - 1)) / (wall8 - lastFirst / 1000);
  return r;
}

if (values.mode === "concurrency") {
  const engine = await Engine.load(dir, { dtype: values.dtype, promptCacheMiB: 0, ...threads }); // prompts repeat: no prompt cache
  await engine.generate({ promptIds: tracePrompt(64), maxTokens: 2, temperature: 0, ignoreEos: true }); // warm-up
  Object.assign(out, { prompt: P, tokens: T }, await oneVersusEight(engine));
  await engine.close();
  console.log(JSON.stringify(out));
  process.exit(0);
}

if (values.mode === "rss") {
  // Peak RSS of one 2048-token prompt, against the weights' size plus the KV cache.
  const engine = await Engine.load(dir, { dtype: values.dtype, promptCacheMiB: 0, ...threads }); // prompts repeat: no prompt cache
  const file = engine.modelFile;
  const files = readdirSync(join(dir, "onnx")).filter((f) => f.startsWith(file.split("/").pop())).reduce((s, f) => s + statSync(join(dir, "onnx", f)).size, 0);
  // The weights' size: the graph's files, less the pre-transposed copy of a tied embedding that a head in
  // vocabulary slices carries (tools/convert's head_slices.py): a copy on disk, not more parameters.
  const tied = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")).tie_word_embeddings !== false;
  const sliced = readFileSync(file).includes("lm_head.slice0");
  const copy = tied && sliced ? config.vocabSize * config.hiddenSize * (values.dtype === "fp16" ? 2 : 4) : 0;
  const weights = files - copy;
  out.filesMiB = files / 2 ** 20;
  out.afterLoadMiB = maxRssMiB();
  const r = await engine.generate({ promptIds: tracePrompt(2048), maxTokens: 4, temperature: 0, ignoreEos: true });
  const kvBytes = 2 * config.numLayers * config.numKvHeads * config.headDim * (2048 + 4) * (values.dtype.includes("16") ? 2 : 4);
  Object.assign(out, { file, weightsMiB: weights / 2 ** 20, kvMiB: kvBytes / 2 ** 20, peakMiB: maxRssMiB(), prefillMs: r.metrics.timeToFirstTokenMs });
  out.peakOverWeightsPlusKv = (out.peakMiB * 2 ** 20) / (weights + kvBytes);
  await engine.close();
  console.log(JSON.stringify(out));
  process.exit(0);
}

// Load times: plain, then suffix with an empty cost cache (cold), then again (warm).
const cacheDir = mkdtempSync(join(tmpdir(), "glimpse-cost-cache-"));
process.env.GLIMPSE_CACHE_DIR = cacheDir;
async function timedLoad(spec) {
  const t = performance.now();
  const e = await Engine.load(dir, { dtype: values.dtype, speculativeConfig: spec, promptCacheMiB: 0, ...threads });
  return { e, ms: performance.now() - t };
}
const loads = [];
for (let i = 0; i < 2; i++) {
  const plain = await timedLoad(null);
  await plain.e.close();
  const suffix = await timedLoad({ method: "suffix" });
  await suffix.e.close();
  loads.push({ plainMs: plain.ms, suffixMs: suffix.ms });
}
out.load = { plainMs: loads.map((l) => l.plainMs), suffixMs: loads.map((l) => l.suffixMs), cold: loads[0].suffixMs / loads[0].plainMs, warm: loads[1].suffixMs / loads[1].plainMs };
rmSync(cacheDir, { recursive: true, force: true });

const { e: engine } = await timedLoad(null);
out.file = engine.modelFile;
await engine.generate({ promptIds: tracePrompt(64), maxTokens: 2, temperature: 0, ignoreEos: true }); // warm-up
Object.assign(out, await oneVersusEight(engine));
await engine.close();

// The verify-cost curve: one forward pass verifying k draft tokens, relative to k = 0.
const { loadModel } = await import(new URL("../dist/model/loader.js", import.meta.url));
const { profilePasses } = await import(new URL("../dist/verify/verify-cost-profile.js", import.meta.url));
const m = await loadModel(dir, { dtype: values.dtype, ...threads });
const ks = values.ks.split(",").map(Number);
out.verifyCost = {};
for (const context of values.contexts.split(",").map(Number)) {
  const ms = await profilePasses(m.forward, config.vocabSize, context, 1, ks, 3);
  out.verifyCost[context] = { ks, ms, relative: ms.map((x) => x / ms[0]) };
}
await m.forward.release();
out.peakMiB = maxRssMiB();
console.log(JSON.stringify(out));
