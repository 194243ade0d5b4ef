// config.json and generation_config.json of a Hugging Face model folder.

import { readFileSync, existsSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { ModelLoadError } from "../errors.js";

const tokenIds = z.union([z.number().int(), z.array(z.number().int())]).nullish();

const configSchema = z.looseObject({
  model_type: z.string().optional(),
  vocab_size: z.number().int().positive(),
  hidden_size: z.number().int().positive(),
  num_hidden_layers: z.number().int().positive(),
  num_attention_heads: z.number().int().positive(),
  intermediate_size: z.number().int().positive().optional(),
  num_key_value_heads: z.number().int().positive().optional(),
  head_dim: z.number().int().positive().optional(),
  max_position_embeddings: z.number().int().positive().optional(),
  eos_token_id: tokenIds,
  bos_token_id: tokenIds,
  pad_token_id: tokenIds,
});

const generationSchema = z.looseObject({
  eos_token_id: tokenIds,
  pad_token_id: tokenIds,
  max_new_tokens: z.number().int().positive().optional(),
  do_sample: z.boolean().optional(),
  temperature: z.number().optional(),
  top_p: z.number().optional(),
  top_k: z.number().int().optional(),
});

export interface ModelConfig {
  modelType: string;
  vocabSize: number;
  hiddenSize: number;
  numLayers: number;
  numHeads: number;
  numKvHeads: number;
  headDim: number;
  /** MLP width (default 4 x hidden when config.json omits it). */
  intermediateSize: number;
  maxPositions: number;
  eosTokenIds: number[];
  padTokenId: number;
  defaultMaxNewTokens: number;
  /** config.json's "transformers.js_config" (dtype, use_external_data_format), if any. */
  transformersJsConfig: Record<string, unknown> | null;
}

function readJson(dir: string, name: string, required: boolean): unknown {
  const path = join(dir, name);
  if (!existsSync(path)) {
    if (required) throw new ModelLoadError(`model folder ${dir} has no ${name}`);
    return {};
  }
  try {
    return JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new ModelLoadError(`${path} is not valid JSON: ${(err as Error).message}`);
  }
}

function ids(value: number | number[] | null | undefined): number[] {
  if (value == null) return [];
  return Array.isArray(value) ? value : [value];
}

function jsConfig(x: unknown): Record<string, unknown> | null {
  return x !== null && typeof x === "object" && !Array.isArray(x) ? (x as Record<string, unknown>) : null;
}

export function readModelConfig(dir: string): ModelConfig {
  const parsed = configSchema.safeParse(readJson(dir, "config.json", true));
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new ModelLoadError(`${join(dir, "config.json")}: field "${issue.path.join(".")}" ${issue.message}`);
  }
  const c = parsed.data;
  const gen = generationSchema.safeParse(readJson(dir, "generation_config.json", false));
  const g = gen.success ? gen.data : {};
  const eos = [...new Set([...ids(g.eos_token_id), ...ids(c.eos_token_id)])];
  const pad = ids(g.pad_token_id)[0] ?? ids(c.pad_token_id)[0] ?? eos[0] ?? 0;
  return {
    modelType: c.model_type ?? "unknown",
    vocabSize: c.vocab_size,
    hiddenSize: c.hidden_size,
    numLayers: c.num_hidden_layers,
    numHeads: c.num_attention_heads,
    numKvHeads: c.num_key_value_heads ?? c.num_attention_heads,
    headDim: c.head_dim ?? c.hidden_size / c.num_attention_heads,
    intermediateSize: c.intermediate_size ?? 4 * c.hidden_size,
    maxPositions: c.max_position_embeddings ?? 2048,
    eosTokenIds: eos,
    padTokenId: pad,
    defaultMaxNewTokens: g.max_new_tokens ?? 256,
    transformersJsConfig: jsConfig(c["transformers.js_config"]),
  };
}
