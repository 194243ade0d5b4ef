// Glimpse side by side with transformers.js on the same ONNX folder: transformers.js
// (`@huggingface/transformers`, its own defaults), Glimpse plain and Glimpse with
// suffix decoding, greedy, batch 1, taking turns prompt by prompt and round by round
// (so a slow spell on this shared machine hits all three alike). Two rates: end to end
// (new tokens / wall time of the call, prompt included) and decode (tokens after the
// first / wall time after it: the prompt's pass runs the same kernels in both engines and
// takes about 40% of a 48-token call at q4); "x tjs" is the median of per-round ratios.
// Greedy parity: every engine's tokens must equal transformers.js's.
//   node bench/peer-transformers.mjs --model DIR [--dtype fp32|q4|...] [--rounds 5] [--tokens 64] [--threads N]
import { basename, dirname, resolve } from "node:path";
import { parseArgs } from "node:util";
import { OWN_DIST, loadLine, machineInfo, median, threadOptions } from "./common.mjs";
import { WORKLOADS } from "./workloads.mjs";

const { values } = parseArgs({
  options: {
    model: { type: "string" },
    dtype: { type: "string", default: "fp32" },
    rounds: { type: "string", default: "5" },
    tokens: { type: "string", default: "64" },
    threads: { type: "string" },
    prompts: { type: "string", default: "3" },
  },
});
if (!values.model) throw new Error("--model DIR is required (a converted folder, e.g. from `glimpse convert`)");
const dir = resolve(values.model);
const rounds = Number(values.rounds);
const maxTokens = Number(values.tokens);

const { Engine, TextTokenizer } = await import(OWN_DIST);
const tjs = await import("@huggingface/transformers");
tjs.env.allowRemoteModels = false;
tjs.env.localModelPath = dirname(dir);

console.log(machineInfo());
console.log(`model ${dir}; dtype ${values.dtype}; greedy, batch 1, ${maxTokens} new tokens; ${rounds} rounds; `
  + `Glimpse intra-op threads ${values.threads ?? "default"}; transformers.js ${tjs.env.version} with its default session options`);

const tokenizer = TextTokenizer.fromDir(dir);
const prompts = WORKLOADS.slice(0, Number(values.prompts)).map((w) => tokenizer.encode(w.prompts?.[0] ?? w.prompt ?? String(w)));

const t0 = performance.now();
const peer = await tjs.AutoModelForCausalLM.from_pretrained(basename(dir), { dtype: values.dtype, local_files_only: true });
const tjsLoadMs = performance.now() - t0;
const engines = {};
for (const [name, spec] of [["glimpse", null], ["glimpse+suffix", { method: "suffix" }]]) {
  const t = performance.now();
  engines[name] = await Engine.load(dir, { dtype: values.dtype, speculativeConfig: spec, promptCacheMiB: 0, ...threadOptions(values.threads) }); // prompts repeat: no prompt cache
  console.log(`${name} loaded in ${((performance.now() - t) / 1000).toFixed(1)} s (${engines[name].modelFile ?? ""})`);
}
console.log(`transformers.js loaded in ${(tjsLoadMs / 1000).toFixed(1)} s`);

async function runPeer(ids) {
  const input = new tjs.Tensor("int64", BigInt64Array.from(ids.map(BigInt)), [1, ids.length]);
  const mask = new tjs.Tensor("int64", new BigInt64Array(ids.length).fill(1n), [1, ids.length]);
  // transformers.js streams the prompt, then each new token: the second put is the first token.
  let puts = 0;
  let firstMs = 0;
  const streamer = { put: () => { if (++puts === 2) firstMs = performance.now() - t; }, end: () => {} };
  const t = performance.now();
  const out = await peer.generate({ input_ids: input, attention_mask: mask, max_new_tokens: maxTokens, min_new_tokens: maxTokens, do_sample: false, streamer });
  const ms = performance.now() - t;
  return { ms, firstMs, tokens: Array.from(out.data, Number).slice(ids.length) };
}

async function runGlimpse(engine, ids) {
  const t = performance.now();
  const r = await engine.generate({ promptIds: ids, maxTokens, temperature: 0, ignoreEos: true });
  return { ms: performance.now() - t, firstMs: r.metrics.timeToFirstTokenMs, tokens: r.tokenIds };
}

const names = ["transformers.js", "glimpse", "glimpse+suffix"];
const rates = Object.fromEntries(names.map((n) => [n, []]));
const ratios = { glimpse: [], "glimpse+suffix": [] };
const decodeRates = Object.fromEntries(names.map((n) => [n, []]));
const decodeRatios = { glimpse: [], "glimpse+suffix": [] };
let mismatches = 0;
for (let round = 0; round < rounds + 1; round++) { // round 0 warms up every engine
  const sums = Object.fromEntries(names.map((n) => [n, { ms: 0, tokens: 0, decodeMs: 0 }]));
  for (const ids of prompts) {
    const order = round % 2 === 0 ? names : [...names].reverse();
    const outs = {};
    for (const n of order) outs[n] = n === "transformers.js" ? await runPeer(ids) : await runGlimpse(engines[n], ids);
    for (const n of names) {
      sums[n].ms += outs[n].ms;
      sums[n].tokens += outs[n].tokens.length;
      sums[n].decodeMs += outs[n].ms - outs[n].firstMs;
      if (n !== "transformers.js" && outs[n].tokens.join() !== outs["transformers.js"].tokens.slice(0, outs[n].tokens.length).join()) mismatches++;
    }
  }
  if (round === 0) continue;
  for (const n of names) {
    rates[n].push((1000 * sums[n].tokens) / sums[n].ms);
    decodeRates[n].push((1000 * (sums[n].tokens - prompts.length)) / sums[n].decodeMs);
  }
  for (const n of ["glimpse", "glimpse+suffix"]) {
    ratios[n].push(rates[n].at(-1) / rates["transformers.js"].at(-1));
    decodeRatios[n].push(decodeRates[n].at(-1) / decodeRates["transformers.js"].at(-1));
  }
}

console.log("\n| engine | end-to-end tokens/s (median) | x transformers.js | decode tokens/s (median) | x transformers.js |\n|---|---|---|---|---|");
for (const n of names) {
  const x = (r) => (n === "transformers.js" ? "1.00" : median(r[n]).toFixed(2));
  console.log(`| ${n} | ${median(rates[n]).toFixed(2)} | ${x(ratios)} | ${median(decodeRates[n]).toFixed(2)} | ${x(decodeRatios)} |`);
}
console.log("(x transformers.js: the median of per-round ratios; decode: tokens after the first over the time after it)");
console.log(`\ngreedy parity with transformers.js: ${mismatches === 0 ? "identical tokens on every prompt and round" : `${mismatches} MISMATCHES`}`);
console.log(loadLine());
for (const e of Object.values(engines)) await e.close();
if (mismatches > 0) process.exitCode = 1;
