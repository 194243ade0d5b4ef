// The parts of a Hugging Face config.json that the reference forward pass reads, with the
// defaults transformers uses when a field is absent (LlamaConfig / Qwen2Config / Qwen3Config).
import { readFileSync } from "node:fs";
import { join } from "node:path";

export type Family = "llama" | "qwen2" | "qwen3";

export interface RopeScaling {
  type: "llama3" | "linear";
  factor: number;
  lowFreqFactor: number;
  highFreqFactor: number;
  originalMaxPositions: number;
}

export interface RefConfig {
  family: Family;
  vocabSize: number;
  hidden: number;
  layers: number;
  heads: number;
  kvHeads: number;
  headDim: number;
  ffn: number;
  eps: number;
  ropeTheta: number;
  ropeScaling?: RopeScaling;
  tied: boolean;
}

const FAMILIES: Record<string, Family> = { LlamaForCausalLM: "llama", Qwen2ForCausalLM: "qwen2", Qwen3ForCausalLM: "qwen3" };

export function readRefConfig(dir: string): RefConfig {
  const c = JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Record<string, unknown>;
  const arch = (c.architectures as string[] | undefined)?.[0] ?? "";
  const family = FAMILIES[arch];
  if (!family) throw new Error(`reference: unsupported architecture ${arch}`);
  const num = (k: string, fallback?: number): number => {
    const v = c[k] ?? fallback;
    if (typeof v !== "number") throw new Error(`reference: config.json lacks ${k}`);
    return v;
  };
  const hidden = num("hidden_size");
  const heads = num("num_attention_heads");
  // LlamaConfig, Qwen2Config and Qwen3Config all default tie_word_embeddings to false.
  const tied = c.tie_word_embeddings === true;
  return {
    family,
    vocabSize: num("vocab_size"),
    hidden,
    layers: num("num_hidden_layers"),
    heads,
    kvHeads: num("num_key_value_heads", heads),
    headDim: typeof c.head_dim === "number" ? c.head_dim : hidden / heads,
    ffn: num("intermediate_size"),
    eps: num("rms_norm_eps", 1e-6),
    ropeTheta: num("rope_theta", 10000),
    ropeScaling: parseScaling(c.rope_scaling),
    tied,
  };
}

function parseScaling(raw: unknown): RopeScaling | undefined {
  if (raw == null) return undefined;
  const s = raw as Record<string, unknown>;
  const type = (s.rope_type ?? s.type) as string;
  if (type === "default") return undefined;
  if (type !== "llama3" && type !== "linear") throw new Error(`reference: rope_scaling type ${type} is not implemented`);
  return {
    type,
    factor: s.factor as number,
    lowFreqFactor: (s.low_freq_factor as number) ?? 1,
    highFreqFactor: (s.high_freq_factor as number) ?? 4,
    originalMaxPositions: (s.original_max_position_embeddings as number) ?? 8192,
  };
}
