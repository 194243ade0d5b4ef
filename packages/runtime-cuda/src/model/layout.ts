// The I/O layout of a decoder ONNX graph, read from the graph itself.

import type * as ort from "onnxruntime-node";
import { ModelLoadError } from "../errors.js";
import type { KvOutputs, KvType } from "../kv/batch-kv-cache.js";
import type { ModelConfig } from "./model-config.js";

export interface DecoderLayout {
  numLayers: number;
  numKvHeads: number;
  headDim: number;
  /** 2: int64 [batch, past+seq] padding mask. 4: additive float [batch, 1, seq, past+seq]. */
  maskRank: 2 | 4;
  hasPositionIds: boolean;
  /** Type of the 4-D additive mask (fp16 graphs may take float16). */
  maskType: "float32" | "float16";
  /** Element type of past_key_values.* and present.* (fp16 graphs: float16, held as Uint16Array). */
  kvType: KvType;
  /** The int64 scalar input limiting logits (and last_hidden_state) to the last n positions (0: all), if the graph has one. */
  logitsToKeepName: string | null;
  hasHiddenState: boolean;
  /** present.* (past + new, Hugging Face) or present_append.* (new positions only, Glimpse's tree graph). */
  kvOutputs: KvOutputs;
  pastKeyNames: string[];
  pastValueNames: string[];
  presentKeyNames: string[];
  presentValueNames: string[];
}

const SUPPORTED = `supported: inputs input_ids, attention_mask (int64 [batch, past+seq] or float32 [batch, 1, seq, past+seq]), ` +
  `optional position_ids, optional num_logits_to_keep (int64 scalar), ` +
  `past_key_values.{i}.key/value float32 or float16 [batch, kv_heads, past, head_dim]; ` +
  `outputs logits, optional last_hidden_state, and present.{i}.key/value [batch, kv_heads, past+seq, head_dim] ` +
  `or present_append.{i}.key/value [batch, kv_heads, seq, head_dim]`;

interface TensorMeta { name: string; isTensor: boolean; type?: string; shape?: (number | string)[] }

export function detectLayout(session: ort.InferenceSession, config: ModelConfig, file: string): DecoderLayout {
  const inputs = session.inputNames;
  const outputs = session.outputNames;
  const meta = new Map<string, TensorMeta>();
  for (const m of (session.inputMetadata ?? []) as unknown as TensorMeta[]) meta.set(m.name, m);
  const fail = (what: string) => {
    throw new ModelLoadError(`${file}: unsupported decoder layout: ${what}. Found inputs [${inputs.join(", ")}], outputs [${outputs.join(", ")}]; ${SUPPORTED}`);
  };
  for (const name of ["input_ids", "attention_mask"]) if (!inputs.includes(name)) fail(`missing input ${name}`);
  if (!outputs.includes("logits")) fail("missing output logits");
  const pastKeyNames = inputs.filter((n) => /^past_key_values\.\d+\.key$/.test(n));
  const numLayers = pastKeyNames.length;
  if (numLayers === 0) fail("no past_key_values inputs (a model exported without KV cache)");
  const pastValueNames = pastKeyNames.map((_, i) => `past_key_values.${i}.value`);
  const kvOutputs: KvOutputs = outputs.includes("present_append.0.key") ? "append" : "full";
  const present = kvOutputs === "append" ? "present_append" : "present";
  const presentKeyNames = pastKeyNames.map((_, i) => `${present}.${i}.key`);
  const presentValueNames = pastKeyNames.map((_, i) => `${present}.${i}.value`);
  for (let i = 0; i < numLayers; i++) {
    if (!inputs.includes(`past_key_values.${i}.key`) || !inputs.includes(pastValueNames[i])) fail(`past_key_values.${i}.key/value missing`);
    if (!outputs.includes(presentKeyNames[i]) || !outputs.includes(presentValueNames[i])) fail(`${present}.${i}.key/value missing`);
  }
  if (numLayers !== config.numLayers) fail(`${numLayers} layers in the graph but num_hidden_layers ${config.numLayers} in config.json`);
  const mask = meta.get("attention_mask");
  const maskRank = mask?.shape?.length ?? 2;
  if (maskRank !== 2 && maskRank !== 4) fail(`attention_mask of rank ${maskRank}`);
  if (maskRank === 4 && mask?.type && mask.type !== "float32" && mask.type !== "float16") fail(`4-D attention_mask of type ${mask.type}`);
  const pastMeta = meta.get(pastKeyNames[0]);
  if (pastMeta?.type && pastMeta.type !== "float32" && pastMeta.type !== "float16") fail(`KV cache of type ${pastMeta.type} (float32 and float16 are supported)`);
  const logitsToKeepName = ["num_logits_to_keep", "logits_to_keep"].find((n) => inputs.includes(n)) ?? null;
  const known = new Set(["input_ids", "attention_mask", "position_ids", ...pastKeyNames, ...pastValueNames]);
  if (logitsToKeepName) known.add(logitsToKeepName);
  const unknown = inputs.filter((n) => !known.has(n));
  if (unknown.length > 0) fail(`unknown inputs ${unknown.join(", ")}`);
  const shape = pastMeta?.shape ?? [];
  const numKvHeads = typeof shape[1] === "number" ? shape[1] : config.numKvHeads;
  const headDim = typeof shape[3] === "number" ? shape[3] : config.headDim;
  return {
    numLayers,
    numKvHeads,
    headDim,
    maskRank: maskRank as 2 | 4,
    hasPositionIds: inputs.includes("position_ids"),
    maskType: mask?.type === "float16" ? "float16" : "float32",
    kvType: pastMeta?.type === "float16" ? "float16" : "float32",
    logitsToKeepName,
    hasHiddenState: outputs.includes("last_hidden_state"),
    kvOutputs,
    pastKeyNames,
    pastValueNames,
    presentKeyNames,
    presentValueNames,
  };
}
