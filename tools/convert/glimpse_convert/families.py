"""config.json -> a model spec, for the families whose forward pass model.py reproduces exactly.

Semantics follow Hugging Face transformers (modeling_llama / modeling_qwen2 / modeling_qwen3, rope_utils):
- Llama: q/k/v/o biases iff `attention_bias`, MLP biases iff `mlp_bias`; `head_dim` from config or hidden/heads;
  `rope_scaling` none, "linear" (inv_freq / factor) or "llama3" (wavelength-dependent, see rope_inv_freq).
- Qwen2: q/k/v biases always, o_proj none; usually tied embeddings.
- Qwen3: per-head RMSNorm (q_norm, k_norm over head_dim) on q and k before RoPE; `head_dim` may differ
  from hidden/heads; biases iff `attention_bias` (false in released models).
RoPE uses the "rotate_half" layout (the two halves of each head rotate together), not interleaved pairs.
"""
from __future__ import annotations

import json
import math
import os
from dataclasses import dataclass

import numpy as np

SUPPORTED = {"LlamaForCausalLM": "llama", "Qwen2ForCausalLM": "qwen2", "Qwen3ForCausalLM": "qwen3"}


class UnsupportedModel(ValueError):
    pass


@dataclass
class Spec:
    family: str
    vocab_size: int
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    head_dim: int
    ffn: int
    eps: float
    rope_theta: float
    rope_scaling: dict | None
    qkv_bias: bool
    o_bias: bool
    mlp_bias: bool
    qk_norm: bool
    tied: bool
    max_positions: int


def spec_from_config(cfg: dict) -> Spec:
    archs = cfg.get("architectures") or []
    arch = next((a for a in archs if a in SUPPORTED), None)
    if arch is None:
        found = ", ".join(archs) if archs else f"model_type {cfg.get('model_type')!r}"
        raise UnsupportedModel(f"unsupported architecture {found}; supported: {', '.join(SUPPORTED)}")
    family = SUPPORTED[arch]
    act = cfg.get("hidden_act", "silu")
    if act != "silu":
        raise UnsupportedModel(f"{arch}: hidden_act {act!r} not supported (silu only)")
    heads = cfg["num_attention_heads"]
    head_dim = cfg.get("head_dim") or cfg["hidden_size"] // heads
    attn_bias = bool(cfg.get("attention_bias", False))
    scaling = cfg.get("rope_scaling")
    if scaling is not None:
        kind = scaling.get("rope_type", scaling.get("type"))
        if kind == "default":
            scaling = None
        elif kind not in ("llama3", "linear"):
            raise UnsupportedModel(f"{arch}: rope_scaling type {kind!r} not supported (llama3, linear, none)")
    if cfg.get("partial_rotary_factor", 1.0) != 1.0:
        raise UnsupportedModel(f"{arch}: partial_rotary_factor != 1 not supported")
    if cfg.get("use_sliding_window"):
        raise UnsupportedModel(f"{arch}: use_sliding_window=true not supported")
    return Spec(
        family=family,
        vocab_size=cfg["vocab_size"],
        hidden=cfg["hidden_size"],
        layers=cfg["num_hidden_layers"],
        heads=heads,
        kv_heads=cfg.get("num_key_value_heads") or heads,
        head_dim=head_dim,
        ffn=cfg["intermediate_size"],
        eps=float(cfg.get("rms_norm_eps", 1e-6)),
        rope_theta=float(cfg.get("rope_theta", 10000.0)),
        rope_scaling=scaling,
        qkv_bias=True if family == "qwen2" else attn_bias,
        o_bias=False if family == "qwen2" else attn_bias,
        mlp_bias=bool(cfg.get("mlp_bias", False)) if family == "llama" else False,
        qk_norm=family == "qwen3",
        tied=bool(cfg.get("tie_word_embeddings", False)),
        max_positions=int(cfg.get("max_position_embeddings", 4096)),
    )


def load_spec(ckpt_dir: str) -> tuple[Spec, dict]:
    path = os.path.join(ckpt_dir, "config.json")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{ckpt_dir}: no config.json")
    with open(path) as f:
        cfg = json.load(f)
    return spec_from_config(cfg), cfg


def rope_inv_freq(spec: Spec) -> np.ndarray:
    """inv_freq [head_dim/2] as transformers' rope init functions compute it (float32, then float64 for llama3 math)."""
    d = spec.head_dim
    inv = 1.0 / (spec.rope_theta ** (np.arange(0, d, 2, dtype=np.int64).astype(np.float32) / d))
    inv = inv.astype(np.float32)
    s = spec.rope_scaling
    if s is None:
        return inv
    kind = s.get("rope_type", s.get("type"))
    factor = float(s["factor"])
    if kind == "linear":
        return (inv / factor).astype(np.float32)
    # llama3: long wavelengths are divided by factor, short ones kept, the band between interpolated
    low, high = float(s["low_freq_factor"]), float(s["high_freq_factor"])
    old = float(s["original_max_position_embeddings"])
    low_wavelen, high_wavelen = old / low, old / high
    wavelen = 2 * math.pi / inv
    out = np.where(wavelen > low_wavelen, inv / factor, inv)
    smooth = (old / wavelen - low) / (high - low)
    smoothed = (1 - smooth) * out / factor + smooth * out
    medium = ~(wavelen < high_wavelen) & ~(wavelen > low_wavelen)
    return np.where(medium, smoothed, out).astype(np.float32)
