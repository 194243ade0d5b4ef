// `glimpse convert`: a Hugging Face checkpoint (config.json + safetensors; Llama, Qwen2, Qwen3) -> a model folder
// Glimpse and transformers.js load (onnx/model{S}.onnx + onnx/model_tree{S}.onnx), or with `--to gguf` one GGUF
// file for llama.cpp (also from a Glimpse / transformers.js ONNX folder, e.g. the embedded model). The work is done
// by the Python package tools/convert/glimpse_convert (PyTorch traces the graphs; GGUF needs numpy only); this
// command checks the flags and the toolchain first, so a missing package costs one clear line instead of a
// Python traceback.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";

export const CONVERT_DTYPES = ["fp32", "fp16", "int8", "q4"] as const;
export type ConvertDtype = (typeof CONVERT_DTYPES)[number];
export const GGUF_DTYPES = ["f32", "f16", "q8_0", "q4_0"] as const;
export const CONVERT_TARGETS = ["onnx", "gguf"] as const;

/** tools/convert at the repository root (src/commands and dist/commands sit at the same depth). */
export const CONVERT_TOOL_DIR = process.env.GLIMPSE_CONVERT_DIR
  ?? fileURLToPath(new URL("../../../../tools/convert", import.meta.url));

const INSTALL_HINT = "install them with: sudo tools/train/setup.sh "
  + "(apt-get install python3-torch python3-onnx python3-numpy python3-regex libopenblas0-pthread)";

export interface ConvertFlags {
  from: string;
  out: string;
  /** Default: fp32 (onnx), f32 (gguf). */
  dtype?: string;
  /** Default: onnx. */
  to?: string;
}

/** The dtypes `--to` accepts; GGUF also takes fp32 / fp16 for f32 / f16. */
function dtypesFor(to: string): readonly string[] {
  return to === "gguf" ? [...GGUF_DTYPES, "fp32", "fp16"] : CONVERT_DTYPES;
}

/** The first problem with the flags, or null. */
export function checkConvertFlags(o: ConvertFlags): string | null {
  const to = o.to ?? "onnx";
  if (!(CONVERT_TARGETS as readonly string[]).includes(to)) return `--to ${to}: unsupported (choose ${CONVERT_TARGETS.join(", ")})`;
  if (!existsSync(o.from) || !statSync(o.from).isDirectory()) return `--from ${o.from}: no such folder`;
  if (!existsSync(join(o.from, "config.json"))) {
    return to === "gguf"
      ? `--from ${o.from}: no config.json (a Hugging Face checkpoint or an ONNX model folder has one)`
      : `--from ${o.from}: no config.json (a Hugging Face checkpoint folder has config.json and *.safetensors)`;
  }
  const dtypes = to === "gguf" ? GGUF_DTYPES : CONVERT_DTYPES;
  if (o.dtype !== undefined && !dtypesFor(to).includes(o.dtype)) return `--dtype ${o.dtype}: unsupported for --to ${to} (choose ${dtypes.join(", ")})`;
  if (to === "gguf") {
    if (!o.out.endsWith(".gguf")) return `--out ${o.out}: --to gguf writes one file; name it *.gguf`;
    if (existsSync(o.out) && statSync(o.out).isDirectory()) return `--out ${o.out}: is a folder (--to gguf writes one .gguf file)`;
  } else if (existsSync(o.out) && !statSync(o.out).isDirectory()) return `--out ${o.out}: exists and is not a folder`;
  return null;
}

/** The Python modules a conversion needs: GGUF needs numpy, plus onnx to read weights from an ONNX folder. */
export function requiredModules(o: ConvertFlags): string[] {
  if (o.to !== "gguf") return ["torch", "onnx", "numpy"];
  const safetensors = ["model.safetensors", "model.safetensors.index.json"].some((f) => existsSync(join(o.from, f)));
  return safetensors ? ["numpy"] : ["onnx", "numpy"];
}

/** Null when `python` can import `modules` (default: torch, onnx, numpy); else one line naming what is missing and
 *  how to install it. */
export function checkToolchain(python: string, modules: readonly string[] = ["torch", "onnx", "numpy"]): string | null {
  const probe = `import importlib.util as u\nprint(' '.join(m for m in ${JSON.stringify(modules)} if u.find_spec(m) is None))`;
  const r = spawnSync(python, ["-c", probe], { encoding: "utf8" });
  if (r.error) return `${python} not found (${(r.error as NodeJS.ErrnoException).code ?? r.error.message}): glimpse convert needs Python 3 with ${modules.join(", ")}; ${INSTALL_HINT}, or set GLIMPSE_PYTHON`;
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
    args: ["-m", "glimpse_convert", "--from", o.from, "--to", o.to ?? "onnx", "--out", o.out,
      ...(o.dtype !== undefined ? ["--dtype", o.dtype] : [])],
    // parity runs the graphs in this same Node, whose onnxruntime-node is the one Glimpse uses
    env: { ...process.env, PYTHONPATH: pythonPath, GLIMPSE_NODE: process.env.GLIMPSE_NODE ?? process.execPath },
  };
}

export function registerConvertCommand(prog: Command): void {
  prog.command("convert")
    .description("convert a Hugging Face checkpoint (Llama, Qwen2, Qwen3 safetensors) into an ONNX model folder, "
      + "or (--to gguf) into a GGUF file for llama.cpp")
    .requiredOption("--from <dir>", "checkpoint folder: config.json, *.safetensors, tokenizer.json "
      + "(--to gguf: also an ONNX model folder such as models/glimpse-coder-tiny)")
    .option("--to <format>", `output: ${CONVERT_TARGETS.join(" | ")}`, "onnx")
    .requiredOption("--out <path>", "onnx: output model folder (several --dtype runs add their files to it); gguf: the .gguf file")
    .option("--dtype <dtype>", `weights: onnx ${CONVERT_DTYPES.join(" | ")} (default fp32; q4 is the smallest and fastest `
      + `on CPU); gguf ${GGUF_DTYPES.join(" | ")} (default f32)`)
    .action(async (o: ConvertFlags) => {
      const bad = checkConvertFlags(o);
      if (bad) fail(bad);
      const cmd = convertCommand(o);
      const missing = checkToolchain(cmd.python, requiredModules(o));
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
