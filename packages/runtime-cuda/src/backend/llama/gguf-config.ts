// config.json and generation_config.json of a Hugging Face folder, from a
// GGUF's architecture metadata (`{arch}.*` keys, named as llama.cpp's
// converter writes them) and its special token ids.

import { ModelLoadError } from "../../errors.js";
import type { GgufMetadata } from "./gguf-metadata.js";
import { specialIds } from "./gguf-tokenizer.js";

/** general.architecture -> transformers' class, for the families the engine runs. */
const ARCHITECTURES: Readonly<Record<string, string>> = {
  llama: "LlamaForCausalLM",
  qwen2: "Qwen2ForCausalLM",
  qwen3: "Qwen3ForCausalLM",
};

export const SUPPORTED_ARCHITECTURES = Object.keys(ARCHITECTURES).join(", ");

/** One KV head count: the GGUF may give one per layer; the engine's config has one for all. */
function kvHeads(meta: GgufMetadata, arch: string, heads: number): number {
  const key = `${arch}.attention.head_count_kv`;
  const v = meta.get(key);
  if (Array.isArray(v)) {
    const counts = [...new Set(v.map(Number))];
    if (counts.length !== 1) throw new ModelLoadError(`${meta.file}: GGUF metadata key "${key}" differs between layers (${counts.join(", ")}); the engine needs one count`);
    return counts[0];
  }
  return meta.int(key) ?? heads;
}

/** rope_scaling as transformers writes it, from `{arch}.rope.scaling.*` (llama.cpp keeps Llama 3's in a rope_freqs tensor). */
function ropeScaling(meta: GgufMetadata, arch: string): Record<string, unknown> | null {
  const type = meta.string(`${arch}.rope.scaling.type`);
  const factor = meta.float(`${arch}.rope.scaling.factor`);
  if (type === "linear" || type === "yarn") {
    const scaling: Record<string, unknown> = { rope_type: type, factor: factor ?? 1 };
    const original = meta.int(`${arch}.rope.scaling.original_context_length`);
    if (original !== undefined) scaling.original_max_position_embeddings = original;
    return scaling;
  }
  // Llama 3's frequency factors: the tensor is what llama.cpp uses; their parameters are not in the metadata
  if (meta.tensorNames.has("rope_freqs.weight")) return { rope_type: "llama3" };
  return null;
}

export function buildModelConfig(meta: GgufMetadata): Record<string, unknown> {
  const arch = meta.string("general.architecture", true);
  const architecture = ARCHITECTURES[arch];
  if (!architecture) {
    throw new ModelLoadError(`${meta.file}: general.architecture "${arch}" is not supported by the llama.cpp backend; supported: ${SUPPORTED_ARCHITECTURES}`);
  }
  const hidden = meta.int(`${arch}.embedding_length`, true);
  const heads = meta.int(`${arch}.attention.head_count`, true);
  const tokens = meta.strings("tokenizer.ggml.tokens", true);
  const ids = specialIds(meta);
  return {
    architectures: [architecture],
    model_type: arch,
    // llama.cpp sizes the logits by the token list
    vocab_size: tokens.length,
    hidden_size: hidden,
    intermediate_size: meta.int(`${arch}.feed_forward_length`, true),
    num_hidden_layers: meta.int(`${arch}.block_count`, true),
    num_attention_heads: heads,
    num_key_value_heads: kvHeads(meta, arch, heads),
    head_dim: meta.int(`${arch}.attention.key_length`) ?? hidden / heads,
    hidden_act: "silu",
    max_position_embeddings: meta.int(`${arch}.context_length`, true),
    rms_norm_eps: meta.float(`${arch}.attention.layer_norm_rms_epsilon`) ?? 1e-6,
    rope_theta: meta.float(`${arch}.rope.freq_base`) ?? 10000,
    rope_scaling: ropeScaling(meta, arch),
    // llama.cpp's converter writes no output.weight when the LM head is the embedding
    tie_word_embeddings: !meta.tensorNames.has("output.weight"),
    bos_token_id: ids.bos ?? null,
    eos_token_id: ids.eos ?? null,
    pad_token_id: ids.pad ?? null,
    torch_dtype: "float32",
  };
}

/** generation_config.json: every id that ends a turn (EOS, end-of-turn, end-of-message). */
export function buildGenerationConfig(meta: GgufMetadata): Record<string, unknown> {
  const ids = specialIds(meta);
  const eos = [...new Set([ids.eos, ids.eot, ids.eom].filter((id): id is number => id !== undefined))];
  const config: Record<string, unknown> = { do_sample: false };
  if (ids.bos !== undefined) config.bos_token_id = ids.bos;
  if (eos.length > 0) config.eos_token_id = eos.length === 1 ? eos[0] : eos;
  if (ids.pad !== undefined) config.pad_token_id = ids.pad;
  return config;
}
