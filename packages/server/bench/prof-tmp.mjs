import { spawn } from "node:child_process";
import { PROMPTS, streamCompletion, DEFAULT_MODEL } from "./common.mjs";
const child = spawn(process.execPath, ["--cpu-prof", "--cpu-prof-dir=/tmp/prof", "bin/glimpse.js", "serve", "--model", DEFAULT_MODEL, "--port", "8555", "--log-level", "warn"], { stdio: "ignore" });
for (;;) { try { if ((await fetch("http://127.0.0.1:8555/health")).ok) break; } catch {} await new Promise((r) => setTimeout(r, 100)); }
const t0 = performance.now(); let n = 0;
for (let r = 0; r < 3; r++) for (const p of PROMPTS) n += (await streamCompletion("http://127.0.0.1:8555", { prompt: p, max_tokens: 256, temperature: 0, ignore_eos: true })).tokens;
console.log("tok/s", n / ((performance.now() - t0) / 1000));
child.kill("SIGTERM"); await new Promise((r) => child.once("exit", r));
