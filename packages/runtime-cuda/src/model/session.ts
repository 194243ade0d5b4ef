// ONNX Runtime sessions and the choice of execution provider.

import { existsSync, readdirSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { availableParallelism } from "node:os";
import { basename, dirname, join } from "node:path";
import * as ort from "onnxruntime-node";
import { GlimpseConfigError, ModelLoadError } from "../errors.js";

export type Device = "auto" | "cuda" | "cpu" | "webgpu";
export const DEVICES: readonly Device[] = ["auto", "cuda", "cpu", "webgpu"];

export interface SessionOptions {
  device?: Device;
  /** Threads for one operator (default: see defaultIntraOpThreads). */
  intraOpThreads?: number;
  /** Threads across operators (default 1). */
  interOpThreads?: number;
  /**
   * Busy-wait between operator runs. Off by default: several sessions share
   * the process (target, speculator) and spinning threads starve each other.
   */
  allowSpinning?: boolean;
  /**
   * Let onnxruntime repack weights at load into its matmul layout (default
   * true). Packed copies live on the heap, while unpacked weights stay in the
   * memory-mapped file, so a table read by two nodes (a tied embedding: lookup
   * and LM head) is held twice. Measured at the 0.5B shape, fp32, 2 cores:
   * off, peak RSS with a 2048-token prompt falls from 1.36x to 1.25x the
   * weights plus KV cache, and decoding is about 17% slower (docs/BENCHMARKS.md).
   */
  prepackWeights?: boolean;
}

export interface ProviderChoice {
  /** Where the decoder runs: onnxruntime's execution provider, or llama.cpp's GPU library (CPU when no layer is offloaded). */
  provider: "cuda" | "cpu" | "webgpu" | "vulkan" | "metal";
  reason: string;
  /** The backend that runs the decoder (backend/decoder-backend.ts). */
  backend?: "onnxruntime" | "llama.cpp";
}

/** The command that installs onnxruntime-node's CUDA provider (skipped by .npmrc). */
export const CUDA_INSTALL_COMMAND = "npm rebuild onnxruntime-node --onnxruntime-node-install=cuda12";

function hasNvidiaGpu(): boolean {
  return existsSync("/dev/nvidia0") || existsSync("/dev/nvidiactl");
}

// onnxruntime-node lists CUDA as "not bundled": it is usable only once its
// provider library has been installed next to the binding.
function cudaProviderInstalled(): boolean {
  try {
    const pkg = dirname(createRequire(import.meta.url).resolve("onnxruntime-node/package.json"));
    return existsSync(join(pkg, "bin", "napi-v6", process.platform, process.arch, "libonnxruntime_providers_cuda.so"));
  } catch {
    return false;
  }
}

function backends(): string[] {
  let names: string[];
  try {
    names = ort.listSupportedBackends().filter((b) => b.bundled || b.name !== "cuda").map((b) => b.name);
  } catch {
    names = ["cpu"];
  }
  if (cudaProviderInstalled()) names.push("cuda");
  return names;
}

/** Decides the execution provider and says why. */
export function chooseProvider(device: Device = "auto"): ProviderChoice {
  if (!DEVICES.includes(device)) {
    throw new GlimpseConfigError("device", `must be one of ${DEVICES.join(", ")}, got ${JSON.stringify(device)}`);
  }
  const available = backends();
  const cudaBinaries = available.includes("cuda");
  if (device === "cpu") return { provider: "cpu", backend: "onnxruntime", reason: "device 'cpu' requested" };
  if (device === "webgpu") {
    if (!available.includes("webgpu")) {
      throw new GlimpseConfigError("device", "'webgpu' is not available in this onnxruntime-node build");
    }
    return { provider: "webgpu", backend: "onnxruntime", reason: "device 'webgpu' requested" };
  }
  if (device === "cuda") {
    if (!cudaBinaries) {
      throw new GlimpseConfigError(
        "device",
        `'cuda' needs onnxruntime-node's CUDA provider binaries, which are not installed. Install them with: ${CUDA_INSTALL_COMMAND}`,
      );
    }
    if (!hasNvidiaGpu()) throw new GlimpseConfigError("device", "'cuda' requested but no NVIDIA GPU device (/dev/nvidia0) is present");
    return { provider: "cuda", backend: "onnxruntime", reason: "device 'cuda' requested" };
  }
  if (cudaBinaries && hasNvidiaGpu()) return { provider: "cuda", backend: "onnxruntime", reason: "auto: CUDA provider binaries installed and an NVIDIA GPU is present" };
  if (!cudaBinaries) {
    return { provider: "cpu", backend: "onnxruntime", reason: `auto: CUDA provider binaries not installed (${CUDA_INSTALL_COMMAND}), using CPU` };
  }
  return { provider: "cpu", backend: "onnxruntime", reason: "auto: CUDA provider binaries installed but no NVIDIA GPU found, using CPU" };
}

/**
 * One core fewer than the machine has (at least 1, at most 4): the JS thread
 * (proposing, sampling, detokenizing, serving HTTP) needs a core of its own.
 * On a 2-core machine one onnxruntime thread decodes faster than two, alone
 * and in batches of 8 (docs/BENCHMARKS.md), and small decoders gain little
 * from more than 4.
 */
export function defaultIntraOpThreads(): number {
  return Math.max(1, Math.min(4, availableParallelism() - 1));
}

/** Bytes of an ONNX file and its external data files (`model.onnx_data`, `model.onnx_data_1`, ...). */
export function graphBytes(file: string): number {
  let bytes = existsSync(file) ? statSync(file).size : 0;
  const prefix = `${basename(file)}_data`;
  try {
    for (const f of readdirSync(dirname(file))) if (f.startsWith(prefix)) bytes += statSync(join(dirname(file), f)).size;
  } catch {
    // an unreadable folder: the .onnx file alone
  }
  return bytes;
}

/** Multiply-adds per token at or above which a decoder gets every core (see threadsForModel). */
export const MANY_THREADS_MACS = 300e6;

/** Weight multiply-adds per token of a Llama-style decoder: attention and MLP projections of each layer, and the LM head. */
export function macsPerToken(c: { hiddenSize: number; numLayers: number; numKvHeads: number; headDim: number; intermediateSize: number; vocabSize: number; numHeads: number }): number {
  const attn = c.hiddenSize * c.headDim * (2 * c.numHeads + 2 * c.numKvHeads);
  return c.numLayers * (attn + 3 * c.hiddenSize * c.intermediateSize) + c.hiddenSize * c.vocabSize;
}

/**
 * Intra-op threads for a decoder: one core is left to the JS thread, except
 * for decoders of 300 M multiply-adds per token or more, whose passes are
 * long enough that the JS thread idles through them. Measured on 2 cores:
 * one thread decoded the tiny model fastest, and a ~170 M-parameter Llama
 * (12 layers, 768 wide, 128k vocabulary: 174 M multiply-adds) too, alone and
 * at batch 8; at the 0.5B shape (494 M) two threads decoded about 10% faster.
 */
export function threadsForModel(macs: number): number {
  if (macs < MANY_THREADS_MACS) return defaultIntraOpThreads();
  return Math.max(1, Math.min(4, availableParallelism()));
}

export async function createSession(path: string, provider: ProviderChoice, opts: SessionOptions = {}): Promise<ort.InferenceSession> {
  if (!existsSync(path)) throw new ModelLoadError(`missing ONNX file ${path}`);
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: provider.provider === "cpu" ? ["cpu"] : [provider.provider, "cpu"],
    intraOpNumThreads: opts.intraOpThreads ?? defaultIntraOpThreads(),
    interOpNumThreads: opts.interOpThreads ?? 1,
    graphOptimizationLevel: "all",
    extra: { session: { intra_op: { allow_spinning: opts.allowSpinning ? "1" : "0" }, ...(opts.prepackWeights === false ? { disable_prepacking: "1" } : {}) } },
  };
  try {
    return await ort.InferenceSession.create(path, options);
  } catch (err) {
    const msg = (err as Error).message;
    const hint = /external|_data|GetExtDataFromTensorProto|open file/i.test(msg)
      ? ` (the graph keeps its weights in external data files beside it, such as ${basename(path)}_data: are they all there?)`
      : "";
    throw new ModelLoadError(`cannot load ${path} with onnxruntime (${provider.provider}): ${msg}${hint}`);
  }
}
