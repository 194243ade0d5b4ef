// Which decoder graph of a model folder to run, by dtype, as transformers.js
// names them: onnx/model{S}.onnx with S the dtype's suffix (fp32 "", fp16
// "_fp16", q4 "_q4", ...). Glimpse's own graph onnx/model_tree{S}.onnx is
// preferred when the folder has it for that dtype.

import { existsSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { GlimpseConfigError, ModelLoadError } from "../errors.js";

/** The dtypes transformers.js names (the file suffixes it loads). */
export const MODEL_DTYPES = ["fp32", "fp16", "int8", "uint8", "q8", "q4", "q4f16", "bnb4"] as const;
export type ModelDtype = (typeof MODEL_DTYPES)[number];

/** transformers.js's DEFAULT_DTYPE_SUFFIX_MAPPING. */
export const DTYPE_SUFFIX: Readonly<Record<ModelDtype, string>> = {
  fp32: "",
  fp16: "_fp16",
  int8: "_int8",
  uint8: "_uint8",
  q8: "_quantized",
  q4: "_q4",
  q4f16: "_q4f16",
  bnb4: "_bnb4",
};

export function isModelDtype(x: unknown): x is ModelDtype {
  return typeof x === "string" && (MODEL_DTYPES as readonly string[]).includes(x);
}

/** The two graph files of a dtype in onnx/: Glimpse's tree graph first. */
function candidates(dir: string, dtype: ModelDtype): string[] {
  const s = DTYPE_SUFFIX[dtype];
  const files = [join(dir, "onnx", `model_tree${s}.onnx`), join(dir, "onnx", `model${s}.onnx`)];
  // Folders of older Glimpse versions keep fp32 graphs at the top level.
  if (dtype === "fp32") files.push(join(dir, "model_tree.onnx"), join(dir, "model.onnx"));
  return files;
}

/** The dtypes the folder has a graph for, in MODEL_DTYPES order. */
export function dtypesInFolder(dir: string): ModelDtype[] {
  return MODEL_DTYPES.filter((d) => candidates(dir, d).some((f) => existsSync(f)));
}

/**
 * config.json's "transformers.js_config".dtype: a dtype, or an object per
 * file name (the decoder's key is "model"). "auto" or absent: null.
 */
export function configDtype(rawConfig: unknown): ModelDtype | null {
  const js = (rawConfig as Record<string, unknown> | null)?.["transformers.js_config"] as Record<string, unknown> | undefined;
  let d = js?.dtype;
  if (d && typeof d === "object") d = (d as Record<string, unknown>).model;
  if (d == null || d === "auto") return null;
  if (!isModelDtype(d)) {
    throw new GlimpseConfigError("transformers.js_config.dtype", `config.json names dtype ${JSON.stringify(d)}; supported: ${MODEL_DTYPES.join(", ")}`);
  }
  return d;
}

export interface GraphChoice {
  file: string;
  dtype: ModelDtype;
  /** How the dtype was decided (for logs). */
  reason: string;
}

/**
 * The graph to run: `requested` (EngineOptions.dtype), else config.json's
 * transformers.js_config.dtype, else fp32 when the folder has onnx/model.onnx,
 * else the only dtype it has. A dtype without a file is a GlimpseConfigError
 * naming the dtypes the folder has.
 */
export function chooseGraph(dir: string, requested: unknown, rawConfig: unknown): GraphChoice {
  const present = dtypesInFolder(dir);
  const has = present.length > 0 ? present.join(", ") : "none";
  let dtype: ModelDtype;
  let reason: string;
  let field: string;
  if (requested !== undefined && requested !== null && requested !== "auto") {
    if (!isModelDtype(requested)) throw new GlimpseConfigError("dtype", `must be one of ${MODEL_DTYPES.join(", ")}, got ${JSON.stringify(requested)}`);
    [dtype, reason, field] = [requested, "requested", "dtype"];
  } else {
    const fromConfig = configDtype(rawConfig);
    if (fromConfig) [dtype, reason, field] = [fromConfig, "config.json transformers.js_config.dtype", "transformers.js_config.dtype"];
    else if (present.includes("fp32")) [dtype, reason, field] = ["fp32", "default", "dtype"];
    else if (present.length === 1) [dtype, reason, field] = [present[0], "the only dtype in the folder", "dtype"];
    else if (present.length === 0) throw new ModelLoadError(`model folder ${dir} has no decoder graph (onnx/model{suffix}.onnx: ${listOther(dir)})`);
    else throw new GlimpseConfigError("dtype", `model folder ${dir} has several dtypes (${has}) and config.json names none: pick one`);
  }
  const file = candidates(dir, dtype).find((f) => existsSync(f));
  if (!file) {
    const why = `dtype ${dtype} needs onnx/model${DTYPE_SUFFIX[dtype]}.onnx (or onnx/model_tree${DTYPE_SUFFIX[dtype]}.onnx) in ${dir}; the folder has dtypes: ${has}`;
    // A dtype asked for is a bad option; one named by config.json, a broken folder.
    if (field === "dtype") throw new GlimpseConfigError(field, why);
    throw new ModelLoadError(`${field} in config.json: ${why}`);
  }
  return { file, dtype, reason };
}

function listOther(dir: string): string {
  const onnxDir = join(dir, "onnx");
  const files = existsSync(onnxDir) ? readdirSync(onnxDir).filter((f) => f.endsWith(".onnx")) : [];
  return files.length > 0 ? `found ${files.join(", ")}` : "none found";
}
