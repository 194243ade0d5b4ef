#!/usr/bin/env node
// What an editor's completion request costs with and without the prompt
// cache: a file grows line by line, and at each new line the editor asks
// for the rest of it (prefix = the file up to the cursor, a one-line stop),
// as the VS Code extension does after each pause in typing. Two servers, one
// with the prompt cache (the default) and one with --prompt-cache-mib 0, are
// asked the same requests, alternating which goes first; the bench prints
// each server's median and p90 wall time, the median ratio, and the cached
// prompt tokens the server reported. Identical completions are checked.
// --max-tokens caps each completion (a model with random weights never ends its line).
//   node bench/editor-latency.mjs [--model DIR] [--lines 40] [--max-tokens 32] [--speculative-config JSON] [--dtype D]

import { DEFAULT_MODEL, flags, percentile, startServer } from "./common.mjs";

const o = flags(
  { model: { type: "string", default: DEFAULT_MODEL }, lines: { type: "string", default: "40" }, "max-tokens": { type: "string", default: "32" }, "speculative-config": { type: "string", default: '{"method": "suffix"}' }, dtype: { type: "string" } },
  "node bench/editor-latency.mjs [--model DIR] [--lines 40] [--max-tokens 32] [--speculative-config JSON] [--dtype D]",
);
const lines = Number(o.lines);
if (!Number.isInteger(lines) || lines < 2 || lines > 1000) throw new Error("--lines must be an integer in [2, 1000]");
const maxTokens = Number(o["max-tokens"]);
if (!Number.isInteger(maxTokens) || maxTokens < 1 || maxTokens > 256) throw new Error("--max-tokens must be an integer in [1, 256]");
const extra = o.dtype ? ["--dtype", o.dtype] : [];
const servers = {
  cache: await startServer({ model: o.model, speculativeConfig: o["speculative-config"], extra }),
  none: await startServer({ model: o.model, speculativeConfig: o["speculative-config"], extra: [...extra, "--prompt-cache-mib", "0"] }),
};

async function ask(url, prompt) {
  const t0 = performance.now();
  const r = await fetch(`${url}/v1/completions`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ prompt, max_tokens: maxTokens, stop: ["\n"], temperature: 0 }),
  });
  if (!r.ok) throw new Error(`${r.status}: ${await r.text()}`);
  const j = await r.json();
  return { ms: performance.now() - t0, text: j.choices[0].text, promptTokens: j.usage.prompt_tokens, cached: j.usage.prompt_tokens_details?.cached_tokens ?? 0 };
}

const ms = { cache: [], none: [] };
const ratios = [];
let cachedTokens = 0;
let promptTokens = 0;
let differ = 0;
try {
  // A file of some size already (an editor sends up to 1,500 characters before the cursor).
  let file = "// Editor latency.\nimport { add } from \"./math\";\n\n";
  for (let i = 0; i < 16; i++) file += `export function scale${i}(a: number, b: number): number {\n  return a * ${i + 2} + b;\n}\n`;
  // A warm-up request each: the first passes of a session are slow.
  for (const s of Object.values(servers)) await ask(s.url, file);
  for (let i = 0; i < lines; i++) {
    file += `\nconst value${i} = add(value${Math.max(0, i - 1)}, ${i});`;
    const prompt = `${file}\nconst value${i + 1} = `;
    const order = i % 2 === 0 ? ["cache", "none"] : ["none", "cache"];
    const got = {};
    for (const k of order) got[k] = await ask(servers[k].url, prompt);
    ms.cache.push(got.cache.ms);
    ms.none.push(got.none.ms);
    ratios.push(got.none.ms / got.cache.ms);
    cachedTokens += got.cache.cached;
    promptTokens += got.cache.promptTokens;
    if (got.cache.text !== got.none.text) differ++;
  }
} finally {
  await Promise.all(Object.values(servers).map((s) => s.stop()));
}
const fmt = (a) => `median ${percentile(a, 50).toFixed(1)} ms, p90 ${percentile(a, 90).toFixed(1)} ms`;
console.log(`${lines} requests each, the file growing a line at a time (prompts of ${Math.round(promptTokens / lines)} tokens on average)`);
console.log(`prompt cache on:  ${fmt(ms.cache)}; ${cachedTokens} of ${promptTokens} prompt tokens served from it`);
console.log(`prompt cache off: ${fmt(ms.none)}`);
console.log(`median of per-request ratios (off / on): ${percentile(ratios, 50).toFixed(2)}x; completions that differ: ${differ}`);
if (differ > 0) process.exitCode = 1;
