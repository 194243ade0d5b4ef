// node-llama-cpp, loaded on demand. It is an optional package (~725 MB of
// prebuilt llama.cpp binaries, installed by `npm run setup:llama`), so it is
// imported dynamically and typed here by the few members the backend uses
// (tsc must build without it).

import { ModelLoadError } from "../../errors.js";
import { SETUP_LLAMA_HINT } from "./gguf-metadata.js";
import { claimLlamaThread } from "./llama-thread.js";

export type Token = number;

export interface GenerateNext {
  token?: boolean;
  logits?: true | { filter: { tokens?: readonly Token[]; includeTop?: number } };
}

export type EvaluateItem = Token | [Token, { generateNext?: GenerateNext }];

export interface EvaluateOutput {
  next: { token?: Token | null; logits?: Map<Token, number> };
}

export interface LlamaContextSequence {
  readonly nextTokenIndex: number;
  controlledEvaluate(input: EvaluateItem[]): Promise<(EvaluateOutput | undefined)[]>;
  eraseContextTokenRanges(ranges: { start: number; end: number }[]): Promise<void>;
  clearHistory(): Promise<void>;
  /** Internal to node-llama-cpp 3.22: this sequence takes the other's tokens and KV cells (shared, not recomputed) up to the index. */
  _copyStateFromOtherSequence?(other: LlamaContextSequence, upToTokenIndex: number): Promise<boolean>;
}

export interface LlamaContext {
  readonly contextSize: number;
  getSequence(options?: { contextShift?: { strategy?: () => never } }): LlamaContextSequence;
  dispose(): Promise<void>;
  /** The native context (internal to node-llama-cpp 3.22): its getEmbedding reads llama.cpp's output at the last evaluated token. */
  readonly _ctx?: { getEmbedding?(inputTokensLength: number, maxVectorSize?: number): Float64Array };
}

export interface LlamaContextOptions {
  sequences: number;
  contextSize: number;
  threads?: number;
  batchSize?: number;
  flashAttention?: boolean;
  failedCreationRemedy?: false;
  /** Internal to node-llama-cpp 3.22: llama.cpp computes the final hidden state (after the last norm) of every evaluated token. */
  _embeddings?: boolean;
}

export interface LlamaModel {
  readonly gpuLayers: number;
  readonly fileInsights: { readonly totalLayers: number };
  createContext(options: LlamaContextOptions): Promise<LlamaContext>;
  dispose(): Promise<void>;
}

export type LlamaGpu = false | "cuda" | "vulkan" | "metal";

export interface Llama {
  readonly gpu: LlamaGpu;
  readonly buildType: string;
  loadModel(options: { modelPath: string; gpuLayers?: number | "auto" | "max" }): Promise<LlamaModel>;
}

export interface NodeLlamaCpp {
  getLlama(options: {
    gpu: "auto" | LlamaGpu;
    build: "never";
    logLevel?: string;
    logger?: (level: string, message: string) => void;
    progressLogs?: boolean;
  }): Promise<Llama>;
}

let module: Promise<NodeLlamaCpp> | null = null;

/** node-llama-cpp, or one clear error naming `npm run setup:llama` when it is not installed. */
export function importNodeLlama(what: string): Promise<NodeLlamaCpp> {
  module ??= (async () => {
    const specifier = "node-llama-cpp"; // a variable: tsc must not resolve the optional package
    try {
      return (await import(specifier)) as NodeLlamaCpp;
    } catch (err) {
      const code = (err as { code?: string }).code;
      if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") throw new ModelLoadError(`${what} runs on llama.cpp: ${SETUP_LLAMA_HINT}`);
      throw err;
    }
  })();
  const loading = module;
  loading.catch(() => {
    if (module === loading) module = null; // a later call tries again (after `npm run setup:llama`)
  });
  return loading;
}

const instances = new Map<string, Promise<Llama>>();

/** llama.cpp's latest error lines: a failed load's Error says only "Failed to load model", its log says why. */
const recentErrors: string[] = [];

function log(level: string, message: string): void {
  if (level === "error" || level === "fatal") {
    recentErrors.push(message.trim());
    recentErrors.splice(0, recentErrors.length - 8);
  } else if (level === "warn") process.emitWarning(`llama.cpp: ${message.trim()}`, { code: "GLIMPSE_LLAMA_CPP" });
}

/** What llama.cpp logged as errors since the last call (for the error of a failed call). */
export function takeLlamaErrors(): string {
  return recentErrors.splice(0).filter((m) => m.length > 0).join("; ");
}

/**
 * One Llama instance per GPU choice, shared by the engines of this thread and
 * kept while it runs: prebuilt binaries only (`build: "never"`), never a
 * build from source. The thread claims llama.cpp for the process first
 * (llama-thread.ts). Instances are never disposed: node-llama-cpp 3.22.1 loses
 * its log callback when a thread disposes one and creates another.
 */
export function llamaFor(lib: NodeLlamaCpp, gpu: "auto" | LlamaGpu, file: string): Promise<Llama> {
  claimLlamaThread(file);
  const key = String(gpu);
  let got = instances.get(key);
  if (!got) {
    got = lib.getLlama({ gpu, build: "never", logLevel: "warn", logger: log, progressLogs: false });
    instances.set(key, got);
    got.catch(() => instances.delete(key));
  }
  return got;
}
