// Loading a model for the engine: options checked, config and tokenizer
// read, the backend chosen (backend/choose-backend.ts: a model folder runs on
// onnxruntime, a .gguf file on llama.cpp) and opened, the proposer built.
// The onnxruntime side is here: the decoder graph chosen and opened, its
// layout detected.

import { existsSync, readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { chooseBackend, type BackendChoice } from "../backend/choose-backend.js";
import type { DecoderBackend } from "../backend/decoder-backend.js";
import { OnnxBackend } from "../backend/onnx-backend.js";
import type { DocumentLimits } from "../documents/ingestor.js";
import { GlimpseConfigError, ModelLoadError } from "../errors.js";
import { createProposer, parseSpeculativeConfig, type Proposer, type SpeculativeConfig, type SpeculativeConfigInput } from "../proposers/index.js";
import type { AcceptRule } from "../sampling/acceptance.js";
import { VerifyCost } from "../verify/verify-cost.js";
import { ForwardPass } from "./forward.js";
import { detectLayout } from "./layout.js";
import { readModelConfig, type ModelConfig } from "./model-config.js";
import { chooseGraph, configDtype, dtypesInFolder, type ModelDtype } from "./dtype.js";
import { chooseProvider, createSession, macsPerToken, threadsForModel, type Device, type ProviderChoice } from "./session.js";
import { TextTokenizer } from "./tokenizer.js";

export interface EngineOptions {
  /**
   * Which backend runs the model: "auto" (default) picks it from the path,
   * "onnxruntime" for a model folder, "llama.cpp" for a .gguf file (through
   * the optional node-llama-cpp: `npm run setup:llama`).
   */
  backend?: BackendChoice;
  /**
   * llama.cpp: layers offloaded to the GPU: a number, "max" (all) or "auto"
   * (default: as many as fit). 0 runs on the CPU alone.
   */
  gpuLayers?: number | "auto" | "max";
  device?: Device;
  /**
   * The decoder graph, relative to the model folder (or absolute). Default:
   * the graph of `dtype`: its tree graph (onnx/model_tree{suffix}.onnx) when
   * the folder has one, since a 4-D mask verifies plain steps, chains and
   * trees alike; else onnx/model{suffix}.onnx (folders without dtype-named
   * graphs: model.onnx or the first onnx/model*.onnx).
   */
  graph?: string;
  /**
   * Which graph of a transformers.js-style folder to run (onnx/model{suffix}.onnx,
   * or onnx/model_tree{suffix}.onnx when present): fp32, fp16, int8, uint8,
   * q8, q4, q4f16, bnb4. Default: config.json's transformers.js_config.dtype,
   * else fp32 when the folder has it, else the only dtype it has. Ignored
   * when `graph` is given.
   */
  dtype?: ModelDtype | "auto";
  /** Threads per operator (default: cores - 1, at most 4, or every core for large decoders; see threadsForModel). */
  intraOpThreads?: number;
  interOpThreads?: number;
  /** vLLM-style speculative config (object or JSON string); none decodes plainly. */
  speculativeConfig?: SpeculativeConfigInput | string | null;
  /** Most requests decoded together in one forward pass (default 8). */
  maxBatchSize?: number;
  /** Longest prompt + output (default: the model's max_position_embeddings). */
  maxModelLen?: number;
  /** Shrink or pause drafts that keep failing (default true). */
  adaptive?: boolean;
  /** Acceptance rule for sampled requests (tests swap it to prove they catch a wrong one). */
  acceptRule?: AcceptRule;
  /**
   * Cost of verifying k draft tokens relative to a plain step: a table
   * (entry k for k tokens; normalized by entry 0) or a slope (1 + slope * k).
   * Drafts are cut where their expected gain no longer pays for it. Unless
   * given, measured when speculation is on: at load for small decoders
   * (about 0.3 s); for large ones read from a cache ($GLIMPSE_CACHE_DIR, else
   * $XDG_CACHE_HOME/glimpse or ~/.cache/glimpse), else measured in the
   * background while the engine is idle (a prior until then). 0 verifies
   * every drafted token.
   */
  verifyCost?: number | readonly number[];
  /** Repack weights at load (default true; false saves memory on large float graphs at some speed, see SessionOptions.prepackWeights). */
  prepackWeights?: boolean;
  /**
   * MiB of recent prompts' KV caches kept so that a prompt starting like one
   * of them computes only the rest (onnxruntime backend; default 64, 0 off).
   * An editor's requests at each pause in typing share all but their last tokens.
   */
  promptCacheMiB?: number;
  /** Suffix documents: token caps and how much of the engine thread their ingestion may take (see DocumentLimits). */
  documents?: DocumentLimits;
}

export interface LoadedModel {
  /** The model folder (for a GGUF file: its description folder, backend/llama/gguf-description.ts). */
  dir: string;
  /** The decoder graph file, or the GGUF file. */
  file: string;
  /** Its dtype (null: a graph named by the `graph` option or a legacy name, or a GGUF file). */
  dtype: ModelDtype | null;
  /** Threads of the decoder (onnxruntime intra-op threads, llama.cpp threads). */
  threads: number;
  config: ModelConfig;
  tokenizer: TextTokenizer;
  provider: ProviderChoice;
  backend: DecoderBackend;
  /** The onnxruntime backend's forward pass (profiling scripts). */
  forward?: ForwardPass;
  speculative: SpeculativeConfig | null;
  proposer: Proposer | null;
  maxBatchSize: number;
  maxModelLen: number;
  /** Given in the options, else null (to be measured). */
  verifyCost: VerifyCost | null;
}

/** What every backend's load shares: the model folder's config and tokenizer, and the checked engine options. */
export interface ModelSetup {
  dir: string;
  config: ModelConfig;
  tokenizer: TextTokenizer;
  speculative: SpeculativeConfig | null;
  maxBatchSize: number;
  maxModelLen: number;
  verifyCost: VerifyCost | null;
}

export function modelSetup(dir: string, options: EngineOptions): ModelSetup {
  const config = readModelConfig(dir);
  const tokenizer = TextTokenizer.fromDir(dir);
  const speculative = options.speculativeConfig == null ? null : parseSpeculativeConfig(options.speculativeConfig);
  const maxBatchSize = options.maxBatchSize ?? 8;
  if (!Number.isInteger(maxBatchSize) || maxBatchSize < 1 || maxBatchSize > 256) {
    throw new GlimpseConfigError("maxBatchSize", `must be an integer in [1, 256], got ${maxBatchSize}`);
  }
  const maxModelLen = options.maxModelLen ?? config.maxPositions;
  if (!Number.isInteger(maxModelLen) || maxModelLen < 2 || maxModelLen > config.maxPositions) {
    throw new GlimpseConfigError("maxModelLen", `must be an integer in [2, ${config.maxPositions}] (max_position_embeddings), got ${maxModelLen}`);
  }
  const verifyCost = options.verifyCost === undefined ? null : parseVerifyCost(options.verifyCost);
  return { dir, config, tokenizer, speculative, maxBatchSize, maxModelLen, verifyCost };
}

/** Loads a model folder (onnxruntime) or a .gguf file (llama.cpp), as `options.backend` and the path say. */
export async function loadModel(modelPath: string, options: EngineOptions): Promise<LoadedModel> {
  const path = resolve(modelPath);
  if (chooseBackend(path, options) === "llama.cpp") {
    const { loadLlamaModel } = await import("../backend/llama/load-llama.js");
    return loadLlamaModel(path, options);
  }
  return loadOnnxModel(path, options);
}

async function loadOnnxModel(dir: string, options: EngineOptions): Promise<LoadedModel> {
  const setup = modelSetup(dir, options);
  const { config, speculative } = setup;
  const provider = chooseProvider(options.device ?? "auto");
  const sessionOptions = { intraOpThreads: options.intraOpThreads, interOpThreads: options.interOpThreads };
  const { file, dtype } = graphFile(dir, options, config);
  const threads = options.intraOpThreads ?? threadsForModel(macsPerToken(config));
  const session = await createSession(file, provider, { ...sessionOptions, intraOpThreads: threads, prepackWeights: options.prepackWeights });
  const layout = detectLayout(session, config, file);
  const proposer = speculative
    ? await createProposer(speculative, { modelDir: dir, model: config, hasHidden: layout.hasHiddenState, provider, session: sessionOptions })
    : null;
  const forward = new ForwardPass(session, layout);
  const backend = new OnnxBackend(forward, config, setup.maxBatchSize, promptCacheBytes(options.promptCacheMiB));
  return { ...setup, file, dtype, threads, provider, backend, forward, proposer };
}

function graphFile(dir: string, options: EngineOptions, config: ModelConfig): { file: string; dtype: ModelDtype | null } {
  if (options.graph !== undefined) return { file: chosenGraph(dir, options.graph), dtype: null };
  const raw = { "transformers.js_config": config.transformersJsConfig };
  if ((options.dtype === undefined || options.dtype === "auto") && configDtype(raw) === null && dtypesInFolder(dir).length === 0) {
    // No dtype-named graph: any onnx/model*.onnx (older folders).
    const legacy = findModelFile(dir, false);
    if (!legacy) throw new ModelLoadError(`model folder ${dir} has no onnx/model.onnx (nor model.onnx, nor onnx/model*.onnx)`);
    return { file: legacy, dtype: null };
  }
  const { file, dtype } = chooseGraph(dir, options.dtype, raw);
  return { file, dtype };
}

/** Finds a decoder graph: the tree graph (onnx/model_tree.onnx, model_tree.onnx), or onnx/model.onnx, model.onnx, onnx/model*.onnx. */
export function findModelFile(dir: string, tree: boolean): string | null {
  const name = tree ? "model_tree.onnx" : "model.onnx";
  for (const p of [join(dir, "onnx", name), join(dir, name)]) if (existsSync(p)) return p;
  if (tree) return null;
  const onnxDir = join(dir, "onnx");
  if (!existsSync(onnxDir)) return null;
  const candidates = readdirSync(onnxDir).filter((f) => /^model.*\.onnx$/.test(f) && !f.includes("tree")).sort();
  return candidates.length > 0 ? join(onnxDir, candidates[0]) : null;
}

function chosenGraph(dir: string, graph: string): string {
  if (typeof graph !== "string" || graph.length === 0) throw new GlimpseConfigError("graph", `must be an ONNX file path relative to the model folder, got ${JSON.stringify(graph)}`);
  const file = resolve(dir, graph);
  if (!existsSync(file)) throw new ModelLoadError(`graph ${graph}: missing ONNX file ${file}`);
  return file;
}

/** Default budget of the prompt cache (EngineOptions.promptCacheMiB). */
export const PROMPT_CACHE_MIB = 64;

function promptCacheBytes(mib: number | undefined): number {
  const v = mib ?? PROMPT_CACHE_MIB;
  if (typeof v !== "number" || !Number.isFinite(v) || v < 0 || v > 65_536) throw new GlimpseConfigError("promptCacheMiB", `must be a number of MiB in [0, 65536] (0: no prompt cache), got ${JSON.stringify(mib)}`);
  return Math.floor(v * 2 ** 20);
}

function parseVerifyCost(value: number | readonly number[]): VerifyCost {
  if (typeof value === "number") {
    if (!Number.isFinite(value) || value < 0) throw new GlimpseConfigError("verifyCost", `a slope must be a finite number >= 0, got ${value}`);
    return VerifyCost.linear(value);
  }
  if (!Array.isArray(value) || value.length < 2 || !value.every((x) => typeof x === "number" && Number.isFinite(x) && x > 0)) {
    throw new GlimpseConfigError("verifyCost", `must be a slope >= 0 or an array of at least 2 positive costs (entry k: k draft tokens), got ${JSON.stringify(value)}`);
  }
  return VerifyCost.fromTimings(value);
}
