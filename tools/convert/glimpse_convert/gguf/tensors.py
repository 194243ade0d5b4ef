"""Hugging Face tensors -> llama.cpp's tensor names, layouts and storage types.

Names (llama.cpp's llama / qwen2 / qwen3 loaders): token_embd, blk.N.{attn_norm, attn_q, attn_k, attn_v,
attn_output, attn_q_norm, attn_k_norm, ffn_norm, ffn_gate, ffn_up, ffn_down}, output_norm, output (omitted when
tied: llama.cpp then reads token_embd twice), rope_freqs (Llama 3 scaling). A linear weight [out, in] is stored as
it is (ggml's ne = [in, out] is numpy's shape reversed).

RoPE layout: Hugging Face rotates dimension i of a head with i + head_dim/2 ("rotate_half"); llama.cpp's llama
architecture rotates adjacent pairs (2j, 2j+1), its qwen2 / qwen3 architectures use rotate_half ("NEOX"). For
llama the rows of q_proj and k_proj (and their biases) are reordered within each head so that row j lands at 2j
and row j + head_dim/2 at 2j + 1: the same attention, in llama.cpp's pairing.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..families import Spec
from . import quants
from .format import F16, F32, Q4_0, Q8_0, GgmlType

DTYPES = {"f32": F32, "f16": F16, "q8_0": Q8_0, "q4_0": Q4_0}
_ENCODE = {"F32": quants.f32, "F16": quants.f16, "Q8_0": quants.q8_0, "Q4_0": quants.q4_0}

LAYER = {  # Hugging Face name inside model.layers.N -> llama.cpp name inside blk.N
    "input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
    "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output", "self_attn.q_norm": "attn_q_norm",
    "self_attn.k_norm": "attn_k_norm", "post_attention_layernorm": "ffn_norm", "mlp.gate_proj": "ffn_gate",
    "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down",
}


def rope_pairs_interleaved(w: np.ndarray, n_head: int) -> np.ndarray:
    """Rows of a q/k projection (or bias) from rotate_half order to adjacent pairs, head by head."""
    rows = w.shape[0]
    if rows % (2 * n_head):
        raise ValueError(f"rope permutation: {rows} rows do not split into {n_head} heads of even size")
    hd = rows // n_head
    return w.reshape(n_head, 2, hd // 2, *w.shape[1:]).swapaxes(1, 2).reshape(w.shape)


def llama3_rope_factors(spec: Spec) -> np.ndarray:
    """Per-frequency divisors llama.cpp applies (rope_freqs.weight): 1 for short wavelengths, `factor` for long
    ones, and 1 / ((1 - s) / factor + s) in between, s rising linearly in original_context / wavelength; the same
    frequencies Hugging Face's llama3 rope init computes. original_max_position_embeddings is read from
    rope_scaling, where transformers reads it."""
    s = spec.rope_scaling or {}
    d = spec.head_dim
    freqs = 1.0 / (spec.rope_theta ** (np.arange(0, d, 2, dtype=np.float32) / np.float32(d)))
    factor = float(s.get("factor", 8.0))
    low, high = float(s.get("low_freq_factor", 1.0)), float(s.get("high_freq_factor", 4.0))
    old = float(s.get("original_max_position_embeddings", 8192))
    out = []
    for f in freqs.astype(np.float32):
        wavelen = 2 * math.pi / float(f)
        if wavelen < old / high:
            out.append(1.0)
        elif wavelen > old / low:
            out.append(factor)
        else:
            smooth = (old / wavelen - low) / (high - low)
            out.append(1.0 / ((1 - smooth) / factor + smooth))
    return np.array(out, dtype=np.float32)


@dataclass
class Planned:
    name: str  # llama.cpp's
    source: str | None  # Hugging Face name (None: computed)
    shape: tuple[int, ...]
    type: GgmlType
    make: Callable[[], np.ndarray]
    kept: str | None = None  # why a tensor was not quantized as asked


def storage_type(shape: tuple[int, ...], want: GgmlType) -> tuple[GgmlType, str | None]:
    """1-D tensors (norms, biases, rope factors) stay F32; matrices take `want` when their rows fit its blocks,
    else F16 (quantized types) with the reason."""
    if len(shape) < 2:
        return F32, None
    if shape[-1] % want.block:
        return F16, f"rows of {shape[-1]} are not a multiple of {want.block}: kept F16"
    return want, None


def plan(spec: Spec, weights, dtype: str) -> list[Planned]:
    """Every tensor of the GGUF file in order, each with a function that loads and transforms it on demand."""
    want = DTYPES[dtype]
    out: list[Planned] = []

    def add(name: str, src: str | None, shape, make) -> None:
        gtype, kept = storage_type(tuple(shape), want)
        out.append(Planned(name, src, tuple(shape), gtype, make, kept))

    def hf(src: str, transform=None):
        if src not in weights:
            raise KeyError(src)
        return lambda: transform(weights.get(src)) if transform else weights.get(src)

    d, hd, v = spec.hidden, spec.head_dim, spec.vocab_size
    add("token_embd.weight", "model.embed_tokens.weight", (v, d), hf("model.embed_tokens.weight"))
    if spec.rope_scaling and spec.rope_scaling.get("rope_type", spec.rope_scaling.get("type")) == "llama3":
        factors = llama3_rope_factors(spec)
        add("rope_freqs.weight", None, factors.shape, lambda: factors)
    rows = {"q_proj": spec.heads * hd, "k_proj": spec.kv_heads * hd, "v_proj": spec.kv_heads * hd, "o_proj": d,
            "gate_proj": spec.ffn, "up_proj": spec.ffn, "down_proj": d}
    cols = {"q_proj": d, "k_proj": d, "v_proj": d, "o_proj": spec.heads * hd, "gate_proj": d, "up_proj": d,
            "down_proj": spec.ffn}
    for i in range(spec.layers):
        pre = f"model.layers.{i}"
        for hf_part, gg in LAYER.items():
            kind = hf_part.split(".")[-1]
            if kind in ("q_norm", "k_norm") and not spec.qk_norm:
                continue
            if kind.endswith("norm"):
                n = hd if kind in ("q_norm", "k_norm") else d
                add(f"blk.{i}.{gg}.weight", f"{pre}.{hf_part}.weight", (n,), hf(f"{pre}.{hf_part}.weight"))
                continue
            fix = None
            if spec.family == "llama" and kind in ("q_proj", "k_proj"):
                heads = spec.heads if kind == "q_proj" else spec.kv_heads
                fix = lambda a, h=heads: rope_pairs_interleaved(a, h)  # noqa: E731
            src = f"{pre}.{hf_part}"
            add(f"blk.{i}.{gg}.weight", f"{src}.weight", (rows[kind], cols[kind]), hf(f"{src}.weight", fix))
            bias = (spec.qkv_bias if kind in ("q_proj", "k_proj", "v_proj") else spec.o_bias if kind == "o_proj"
                    else spec.mlp_bias)
            if bias:
                add(f"blk.{i}.{gg}.bias", f"{src}.bias", (rows[kind],), hf(f"{src}.bias", fix))
    add("output_norm.weight", "model.norm.weight", (d,), hf("model.norm.weight"))
    if not spec.tied:
        add("output.weight", "lm_head.weight", (v, d), hf("lm_head.weight"))
    return out


def encode(p: Planned) -> bytes:
    a = p.make()
    if tuple(a.shape) != p.shape:
        raise ValueError(f"{p.source or p.name}: shape {tuple(a.shape)}, config.json implies {p.shape}")
    return _ENCODE[p.type.name](a)
