// Two decoder graphs of one model folder through the Glimpse engine (packages/runtime-cuda's build), side by side:
// both engines loaded at once, greedy, batch 1, taking turns prompt by prompt with the order alternating each round.
// Reports per graph the median over rounds of prefill ms (time to first token) and decode tokens/s after the
// first token, the median of per-round ratios (B / A tokens/s), and whether the greedy tokens are identical.
// Usage: node ab_engine.mjs <model dir> <graph A> <graph B> [rounds=3] [tokens=32] [prompts=3]
// (graphs relative to the folder or absolute; build the engine first: npm run build -w @glimpse/runtime-cuda)
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../../", import.meta.url));
const { Engine, TextTokenizer } = await import(`${root}packages/runtime-cuda/dist/index.js`);
const { WORKLOADS } = await import(`${root}packages/runtime-cuda/bench/workloads.mjs`);
const [dir, ga, gb, roundsArg = "3", tokensArg = "32", promptsArg = "3"] = process.argv.slice(2);
if (!gb) throw new Error("usage: node ab_engine.mjs <model dir> <graph A> <graph B> [rounds] [tokens] [prompts]");
const rounds = Number(roundsArg), maxTokens = Number(tokensArg);
const tokenizer = TextTokenizer.fromDir(dir);
const prompts = WORKLOADS.slice(0, Number(promptsArg)).map((w) => tokenizer.encode(w.prompts?.[0] ?? w.prompt ?? String(w)));
const engines = [await Engine.load(dir, { graph: ga }), await Engine.load(dir, { graph: gb })];
const rate = [[], []], prefill = [[], []], ratio = [];
let mismatches = 0;
for (let round = 0; round <= rounds; round++) { // round 0 warms up
  const sums = [0, 1].map(() => ({ genMs: 0, tokens: 0, ttft: 0 }));
  for (const ids of prompts) {
    const outs = [];
    for (const e of round % 2 ? [1, 0] : [0, 1]) {
      const r = await engines[e].generate({ promptIds: ids, maxTokens, temperature: 0, ignoreEos: true });
      outs[e] = r.tokenIds;
      sums[e].tokens += r.tokenIds.length - 1;
      sums[e].genMs += r.metrics.totalMs - r.metrics.timeToFirstTokenMs;
      sums[e].ttft += r.metrics.timeToFirstTokenMs;
    }
    if (outs[0].join() !== outs[1].join()) mismatches++;
  }
  if (round === 0) continue;
  for (const e of [0, 1]) {
    rate[e].push((1000 * sums[e].tokens) / sums[e].genMs);
    prefill[e].push(sums[e].ttft / prompts.length);
  }
  ratio.push(rate[1].at(-1) / rate[0].at(-1));
}
const med = (xs) => [...xs].sort((a, b) => a - b)[xs.length >> 1];
console.log(JSON.stringify({
  a: ga, b: gb, rounds, tokens: maxTokens, prompt_tokens: prompts.map((p) => p.length),
  decode_tokens_per_s: { a: +med(rate[0]).toFixed(2), b: +med(rate[1]).toFixed(2), b_over_a: +med(ratio).toFixed(3) },
  prefill_ms: { a: Math.round(med(prefill[0])), b: Math.round(med(prefill[1])) },
  greedy_identical: mismatches === 0, mismatches,
}));
for (const e of engines) await e.close();
