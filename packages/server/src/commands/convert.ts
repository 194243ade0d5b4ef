// `glimpse convert`: a Hugging Face checkpoint (config.json + safetensors; Llama, Qwen2, Qwen3) -> a model folder
// Glimpse and transformers.js load (onnx/model{S}.onnx + onnx/model_tree{S}.onnx). The work is done by the Python
// package tools/convert/glimpse_convert (PyTorch traces the graphs); this command checks the flags and the
// toolchain first, so a missing package costs one clear line instead of a Python traceback.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";

export const CONVERT_DTYPES = ["fp32", "fp16", "int8", "q4"] as const;
export type ConvertDtype = (typeof CONVERT_DTYPES)[number];

/** tools/convert at the repository root (src/commands and dist/commands sit at the same depth). */
export const CONVERT_TOOL_DIR = process.env.GLIMPSE_CONVERT_DIR
  ?? fileURLToPath(new URL("../../../../tools/convert", import.meta.url));

const INSTALL_HINT = "install them with: sudo tools/train/setup.sh "
  + "(apt-get install python3-torch python3-onnx python3-numpy python3-regex libopenblas0-pthread)";

export interface ConvertFlags {
  from: string;
  out: string;
  dtype: string;
}

/** The first problem with the flags, or null. */
export function checkConvertFlags(o: ConvertFlags): string | null {
  if (!existsSync(o.from) || !statSync(o.from).isDirectory()) return `--from ${o.from}: no such folder`;
  if (!existsSync(join(o.from, "config.json"))) return `--from ${o.from}: no config.json (a Hugging Face checkpoint folder has config.json and *.safetensors)`;
  if (!(CONVERT_DTYPES as readonly string[]).includes(o.dtype)) return `--dtype ${o.dtype}: unsupported (choose ${CONVERT_DTYPES.join(", ")})`;
  if (existsSync(o.out) && !statSync(o.out).isDirectory()) return `--out ${o.out}: exists and is not a folder`;
  return null;
}

/** Null when `python` can import torch, onnx and numpy; else one line naming what is missing and how to install it. */
export function checkToolchain(python: string): string | null {
  const probe = "import importlib.util as u\nprint(' '.join(m for m in ('torch', 'onnx', 'numpy') if u.find_spec(m) is None))";
  const r = spawnSync(python, ["-c", probe], { encoding: "utf8" });
  if (r.error) return `${python} not found (${(r.error as NodeJS.ErrnoException).code ?? r.error.message}): glimpse convert needs Python 3 with torch, onnx and numpy; ${INSTALL_HINT}, or set GLIMPSE_PYTHON`;
  if (r.status !== 0) return `${python} failed to start: ${r.stderr.trim().split("\n").pop() ?? ""}`;
  const missing = r.stdout.trim();
  if (missing) return `${python} lacks ${missing.split(" ").join(", ")}; ${INSTALL_HINT}, or set GLIMPSE_PYTHON to a Python that has them`;
  return null;
}

/** Python, its arguments and environment for one conversion. */
export function convertCommand(o: ConvertFlags): { python: string; args: string[]; env: NodeJS.ProcessEnv } {
  const python = process.env.GLIMPSE_PYTHON ?? "/usr/bin/python3";
  const pythonPath = [CONVERT_TOOL_DIR, process.env.PYTHONPATH].filter(Boolean).join(":");
  return {
    python,
    args: ["-m", "glimpse_convert", "--from", o.from, "--out", o.out, "--dtype", o.dtype],
    // parity runs the graphs in this same Node, whose onnxruntime-node is the one Glimpse uses
    env: { ...process.env, PYTHONPATH: pythonPath, GLIMPSE_NODE: process.env.GLIMPSE_NODE ?? process.execPath },
  };
}

export function registerConvertCommand(prog: Command): void {
  prog.command("convert")
    .description("convert a Hugging Face checkpoint (Llama, Qwen2, Qwen3 safetensors) into an ONNX model folder")
    .requiredOption("--from <dir>", "checkpoint folder: config.json, *.safetensors, tokenizer.json")
    .requiredOption("--out <dir>", "output model folder (several --dtype runs add their files to it)")
    .option("--dtype <dtype>", `weights: ${CONVERT_DTYPES.join(" | ")} (q4 is the smallest and fastest on CPU)`, "fp32")
    .action(async (o: ConvertFlags) => {
      const bad = checkConvertFlags(o);
      if (bad) fail(bad);
      const cmd = convertCommand(o);
      const missing = checkToolchain(cmd.python);
      if (missing) fail(missing);
      const code = await new Promise<number>((resolve) => {
        const child = spawn(cmd.python, cmd.args, { env: cmd.env, stdio: "inherit" });
        child.on("error", (e) => { process.stderr.write(`glimpse convert: ${e.message}\n`); resolve(1); });
        child.on("exit", (status, signal) => resolve(status ?? (signal ? 128 + 15 : 1)));
      });
      if (code !== 0) process.stderr.write(`glimpse convert: failed (exit code ${code})\n`);
      process.exitCode = code;
    });
}

function fail(message: string): never {
  process.stderr.write(`glimpse convert: ${message}\n`);
  process.exit(2);
}
