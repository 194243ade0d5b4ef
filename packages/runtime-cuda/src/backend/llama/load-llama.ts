// Loading a .gguf file for the engine: node-llama-cpp imported (optional
// package), llama.cpp's library chosen (GPU when present, prebuilt binaries
// only), the model loaded with its GPU layers, the file described as a model
// folder (config, tokenizer, chat template: gguf-description.ts) so
// everything above the backend reads it as it reads an ONNX folder, and one
// context created with a sequence per row.

import { dirname } from "node:path";
import { GlimpseConfigError, ModelLoadError } from "../../errors.js";
import { modelSetup, type EngineOptions, type LoadedModel } from "../../model/loader.js";
import { chooseProvider, DEVICES, macsPerToken, threadsForModel, type ProviderChoice } from "../../model/session.js";
import { createProposer } from "../../proposers/index.js";
import { describeGguf } from "./gguf-description.js";
import { LlamaBackend } from "./llama-backend.js";
import { importNodeLlama, llamaFor, takeLlamaErrors, type Llama, type LlamaGpu, type LlamaModel } from "./node-llama.js";

/** Options that choose among an ONNX folder's graphs or tune onnxruntime, meaningless for a GGUF file. */
const ONNX_ONLY = ["graph", "dtype"] as const;

function checkGpuLayers(value: EngineOptions["gpuLayers"]): number | "auto" | "max" {
  if (value === undefined) return "auto";
  if (value === "auto" || value === "max" || (typeof value === "number" && Number.isInteger(value) && value >= 0)) return value;
  throw new GlimpseConfigError("gpuLayers", `must be an integer >= 0, "auto" or "max", got ${JSON.stringify(value)}`);
}

/** node-llama-cpp's GPU choice for the engine's `device` (and `gpuLayers` 0: the CPU alone). */
function gpuFor(options: EngineOptions, gpuLayers: number | "auto" | "max"): "auto" | LlamaGpu {
  const device = options.device ?? "auto";
  if (!DEVICES.includes(device)) throw new GlimpseConfigError("device", `must be one of ${DEVICES.join(", ")}, got ${JSON.stringify(device)}`);
  if (device === "webgpu") throw new GlimpseConfigError("device", "'webgpu' is an onnxruntime provider; the llama.cpp backend runs on 'auto', 'cuda' or 'cpu'");
  if (device === "cpu" || gpuLayers === 0) return false;
  return device === "cuda" ? "cuda" : "auto";
}

async function loadLibrary(options: EngineOptions, gpu: "auto" | LlamaGpu, file: string): Promise<Llama> {
  const lib = await importNodeLlama(file);
  try {
    return await llamaFor(lib, gpu, file);
  } catch (err) {
    if (err instanceof ModelLoadError) throw err; // another thread holds llama.cpp
    const why = (err as Error).message;
    if (options.device === "cuda") {
      throw new GlimpseConfigError("device", `'cuda' requested, but node-llama-cpp's CUDA build cannot load here (it needs an NVIDIA GPU and the CUDA runtime libraries): ${why}`);
    }
    throw new ModelLoadError(`llama.cpp (node-llama-cpp) cannot load a prebuilt binary for this machine: ${why}`);
  }
}

async function loadWeights(llama: Llama, file: string, gpuLayers: number | "auto" | "max"): Promise<LlamaModel> {
  takeLlamaErrors();
  try {
    return await llama.loadModel({ modelPath: file, gpuLayers });
  } catch (err) {
    // llama.cpp's log lines cross from its thread as queued callbacks, which may come after the rejection.
    await new Promise((res) => setTimeout(res, 50));
    const logged = takeLlamaErrors();
    throw new ModelLoadError(`llama.cpp cannot load ${file}: ${(err as Error).message}${logged ? ` (${logged})` : ""}`);
  }
}

function providerOf(llama: Llama, model: LlamaModel, gpuLayers: number | "auto" | "max"): ProviderChoice {
  const total = model.fileInsights.totalLayers;
  const build = `llama.cpp ${llama.buildType} build`;
  if (llama.gpu === false) {
    const why = gpuLayers === 0 ? "gpuLayers 0" : "no GPU requested or found";
    return { provider: "cpu", backend: "llama.cpp", reason: `${build} on the CPU (${why})` };
  }
  if (model.gpuLayers === 0) return { provider: "cpu", backend: "llama.cpp", reason: `${build} with ${llama.gpu}, but no layer offloaded (gpuLayers ${gpuLayers}): CPU` };
  return { provider: llama.gpu, backend: "llama.cpp", reason: `${build} with ${llama.gpu}: ${model.gpuLayers} of ${total} layers on the GPU (gpuLayers ${gpuLayers})` };
}

export async function loadLlamaModel(file: string, options: EngineOptions): Promise<LoadedModel> {
  for (const key of ONNX_ONLY) {
    if (options[key] !== undefined) throw new GlimpseConfigError(key, `applies to ONNX model folders; ${file} is a GGUF file, whose weights are as converted`);
  }
  const gpuLayers = checkGpuLayers(options.gpuLayers);
  const gpu = gpuFor(options, gpuLayers);
  const llama = await loadLibrary(options, gpu, file);
  // llama.cpp reads the file first: its error names what is wrong with a corrupt or truncated one.
  const model = await loadWeights(llama, file, gpuLayers);
  try {
    return { ...(await openModel(model, file, options)), provider: providerOf(llama, model, gpuLayers) };
  } catch (err) {
    await model.dispose();
    throw err;
  }
}

/** The description folder read, the context created, the proposer built. */
async function openModel(model: LlamaModel, file: string, options: EngineOptions): Promise<Omit<LoadedModel, "provider">> {
  const setup = modelSetup((await describeGguf(file)).dir, options);
  const { config, speculative, maxBatchSize, maxModelLen } = setup;
  const threads = options.intraOpThreads ?? threadsForModel(macsPerToken(config));
  // Preempted requests keep their sequence: half a batch of them at most, so the KV memory reserved stays 1.5x the batch's.
  const maxHeldRows = Math.ceil(maxBatchSize / 2);
  let backend: LlamaBackend;
  try {
    // Speculators (Arctic, the hybrid) draft from the target's hidden state: llama.cpp then computes it (llama-hidden.ts).
    const hiddenSize = speculative?.method === "arctic" || speculative?.method === "mlp_speculator" ? config.hiddenSize : null;
    backend = await LlamaBackend.create(model, { maxBatchSize, maxHeldRows, contextSize: maxModelLen, threads, vocabSize: config.vocabSize, hiddenSize });
  } catch (err) {
    throw new ModelLoadError(`llama.cpp cannot create a context of ${maxBatchSize + maxHeldRows} sequences x ${maxModelLen} tokens for ${file} `
      + `(a smaller maxModelLen or maxBatchSize needs less memory): ${(err as Error).message}`);
  }
  try {
    const proposer = speculative
      // A relative speculator path is looked for beside the .gguf file (the description folder holds no speculator).
      ? await createProposer(speculative, { modelDir: dirname(file), model: config, hasHidden: backend.hiddenState, provider: chooseProvider("cpu"), session: {} })
      : null;
    return { ...setup, file, dtype: null, threads, backend, proposer };
  } catch (err) {
    await backend.close();
    throw err;
  }
}
