// Which backend runs a model: a .gguf file runs on llama.cpp, a model folder
// on onnxruntime. `backend` may name one; naming the other kind of model
// than the path holds is an error that says which backend fits.

import { closeSync, existsSync, openSync, readSync, statSync } from "node:fs";
import { GlimpseConfigError, ModelLoadError } from "../errors.js";
import { BACKENDS, type BackendName } from "./decoder-backend.js";

export type BackendChoice = "auto" | BackendName;
export const BACKEND_CHOICES: readonly BackendChoice[] = ["auto", ...BACKENDS];

/** GGUF files start with these four bytes. */
const GGUF_MAGIC = "GGUF";

function isGgufPath(path: string): boolean {
  return /\.gguf$/i.test(path);
}

/** Whether a file starts with the GGUF magic. */
function hasGgufMagic(file: string): boolean {
  const fd = openSync(file, "r");
  try {
    const head = Buffer.alloc(4);
    return readSync(fd, head, 0, 4, 0) === 4 && head.toString("latin1") === GGUF_MAGIC;
  } finally {
    closeSync(fd);
  }
}

/** The backend for `path` (absolute), checked against the `backend` option. */
export function chooseBackend(path: string, options: { backend?: BackendChoice; gpuLayers?: unknown }): BackendName {
  const wanted = options.backend ?? "auto";
  if (!BACKEND_CHOICES.includes(wanted)) {
    throw new GlimpseConfigError("backend", `must be one of ${BACKEND_CHOICES.join(", ")}, got ${JSON.stringify(wanted)}`);
  }
  if (!existsSync(path)) {
    throw new ModelLoadError(isGgufPath(path) ? `GGUF file ${path} does not exist` : `model folder ${path} does not exist`);
  }
  const file = statSync(path).isFile();
  if (file && !isGgufPath(path) && !hasGgufMagic(path)) {
    throw new ModelLoadError(`${path} is a file but not a GGUF file: a model is a folder (onnxruntime: config.json, tokenizer, onnx/model*.onnx) or a .gguf file (llama.cpp)`);
  }
  const found: BackendName = file ? "llama.cpp" : "onnxruntime";
  if (wanted !== "auto" && wanted !== found) {
    throw new GlimpseConfigError("backend", found === "llama.cpp"
      ? `"onnxruntime" runs model folders, and ${path} is a GGUF file: use "llama.cpp" or "auto"`
      : `"llama.cpp" runs .gguf files, and ${path} is a folder: use "onnxruntime" or "auto", or give the .gguf file`);
  }
  if (found === "llama.cpp" && !hasGgufMagic(path)) {
    throw new ModelLoadError(`${path} is not a GGUF file: it does not start with the GGUF magic bytes (a truncated or corrupt download?)`);
  }
  if (found === "onnxruntime" && options.gpuLayers !== undefined) {
    throw new GlimpseConfigError("gpuLayers", `applies to the llama.cpp backend (a .gguf file); ${path} is a model folder, run by onnxruntime (choose its GPU with device)`);
  }
  return found;
}
