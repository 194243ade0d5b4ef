// The flags that load an engine, shared by `serve`, `generate` and
// `bench replay`, and loading it with errors that name the flag.

import { Command, InvalidArgumentError, Option } from "commander";
import { DEVICES, Engine, GlimpseConfigError, ModelLoadError, RemoteEngine, type Device, type EngineOptions, type InferenceEngine } from "@glimpse/runtime-cuda";
import { engineDocumentLimits, type LimitFlags } from "../cli-limits.js";
import { EMBEDDED_MODEL_DIR } from "../paths.js";

export const int = (name: string, min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be an integer >= ${min}`);
  return n;
};

export const num = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new InvalidArgumentError("must be a number");
  return n;
};

/** What --backend accepts (the engine's EngineOptions.backend). */
export const BACKEND_FLAG_CHOICES = ["auto", "onnxruntime", "llama.cpp"] as const;

/** --gpu-layers: a count of layers, "auto" (as many as fit) or "max" (all). */
export const gpuLayers = (v: string): number | "auto" | "max" => {
  if (v === "auto" || v === "max") return v;
  const n = Number(v);
  if (v.trim() === "" || !Number.isInteger(n) || n < 0) throw new InvalidArgumentError("must be a number of layers >= 0, 'auto' or 'max'");
  return n;
};

/** Options that load the engine. */
export function engineOptions(cmd: Command): Command {
  return cmd
    .option("--model <path>", "model folder (Hugging Face layout with onnx/model.onnx; runs on onnxruntime) or a .gguf file (runs on llama.cpp)", EMBEDDED_MODEL_DIR)
    .addOption(new Option("--backend <name>", "what runs the model: auto picks llama.cpp for a .gguf file, onnxruntime for a folder").choices([...BACKEND_FLAG_CHOICES]).default("auto"))
    .option("--gpu-layers <n|auto|max>", "llama.cpp: layers offloaded to the GPU (default auto: as many as fit; 0: CPU only)", gpuLayers)
    .option("--graph <file>", "decoder graph inside the model folder (default: onnx/model_tree.onnx if present, else onnx/model.onnx)")
    .option("--dtype <dtype>", "graph of a transformers.js-style folder: fp32, fp16, int8, uint8, q8, q4, q4f16, bnb4 (onnx/model{_suffix}.onnx; default: config.json's, else fp32)")
    .option("--speculative-config <json>", "vLLM-style speculative config, e.g. '{\"method\": \"suffix\"}' (none: plain decoding)")
    .addOption(new Option("--device <device>", "execution provider").choices([...DEVICES]).default("auto"))
    .option("--max-model-len <n>", "longest prompt + completion in tokens", int("--max-model-len", 2))
    .option("--max-batch-size <n>", "most requests decoded together in one forward pass", int("--max-batch-size", 1), 8)
    .option("--threads <n>", "onnxruntime intra-op threads (default: cores - 1, at most 4)", int("--threads", 1))
    .option("--prompt-cache-mib <n>", "MiB of recent prompts' KV kept so a prompt that starts like one of them computes only the rest (onnxruntime; default 64, bench replay 0; 0: off)", num)
    .option("--no-prepack-weights", "keep weights as stored instead of repacking them at load: less memory for large float models, slower decoding");
}

export interface EngineFlags {
  model: string;
  backend: (typeof BACKEND_FLAG_CHOICES)[number];
  gpuLayers?: number | "auto" | "max";
  graph?: string;
  /** Checked by the engine (it names the dtypes the folder has). */
  dtype?: EngineOptions["dtype"];
  speculativeConfig?: string;
  device: Device;
  maxModelLen?: number;
  maxBatchSize: number;
  threads?: number;
  /** false with --no-prepack-weights. */
  prepackWeights?: boolean;
  promptCacheMib?: number;
}

/** The flag behind an engine option that a GlimpseConfigError names. */
const FLAG_OF_FIELD: Record<string, string> = { promptCacheMiB: "--prompt-cache-mib", dtype: "--dtype", backend: "--backend", gpuLayers: "--gpu-layers", device: "--device", graph: "--graph" };

/** The engine in this thread (`generate`, `bench`), or in a worker thread (`serve`: HTTP work then never waits for a decoding step). */
export async function loadEngine(o: EngineFlags, where: "here" | "worker", workerMaxOldSpaceMb?: number): Promise<InferenceEngine> {
  const options: EngineOptions = {
    backend: o.backend,
    gpuLayers: o.gpuLayers,
    device: o.device,
    graph: o.graph,
    dtype: o.dtype,
    speculativeConfig: o.speculativeConfig ?? null,
    maxModelLen: o.maxModelLen,
    maxBatchSize: o.maxBatchSize,
    intraOpThreads: o.threads,
    prepackWeights: o.prepackWeights,
    promptCacheMiB: o.promptCacheMib,
    documents: engineDocumentLimits(o as Partial<LimitFlags>),
  };
  try {
    return where === "worker"
      ? await RemoteEngine.load(o.model, options, { resourceLimits: workerMaxOldSpaceMb ? { maxOldGenerationSizeMb: workerMaxOldSpaceMb } : undefined })
      : await Engine.load(o.model, options);
  } catch (err) {
    // Name the flag, not the runtime's option.
    if (err instanceof GlimpseConfigError && err.field.startsWith("speculative_config")) throw new Error(`--speculative-config: ${err.message}`);
    if (err instanceof GlimpseConfigError && FLAG_OF_FIELD[err.field]) throw new Error(`${FLAG_OF_FIELD[err.field]}: ${err.reason}`);
    if (err instanceof ModelLoadError && o.model === EMBEDDED_MODEL_DIR) throw new Error(`${err.message} (the embedded model; pass --model DIR or set GLIMPSE_MODEL_DIR)`);
    throw err;
  }
}
