"""The decoder of a Spec (Llama / Qwen2 / Qwen3) as a torch module whose trace gives both ONNX graphs.

forward(input_ids, mask, position_ids, past, num_logits_to_keep, append_only) -> logits, last_hidden_state, presents
- mask: 2-D int64 padding mask [b, past+s] (causal + padding bias built in the graph) or an additive float32
  [b,1,s,past+s] mask used as-is (tree verification);
- presents: past + new K/V per layer (HF layout), or with append_only the new positions' K/V alone;
- num_logits_to_keep: int64 scalar, 0 = every position, n > 0 = the last n (logits and last_hidden_state alike);
  None: every position, and a graph without that input.
Linear weights are kept transposed ([in, out]) so each projection exports as MatMul(x, initializer), the pattern
quantize.py rewrites; a tied LM head is MatMul(h, Transpose(embed)) so the embedding is stored once.
The submodules RmsStat, RopeTable, MaskBuilder and MaskedSoftmax (attributes fp32_*) are what fp16.py keeps in float32
(variance, rotary angles, -1e9 masks and softmax are not safe in float16); it finds them by their ONNX scope names.
The computation (GroupedAttention, SwiGLU, PreNormBlock, run_layers, rope_tables, causal_bias, rms_normalize) is
also what tools/train's trainable GlimpseLM runs: its subclasses there only make the trainable parameters.
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .families import Spec, rope_inv_freq

NEG = -1e9  # finite "minus infinity": fully padded rows stay NaN-free
FP32_ISLAND_PREFIX = "fp32_"  # attribute names of the float32 islands: ONNX node scopes carry them


def _p(a: np.ndarray) -> nn.Parameter:
    return nn.Parameter(torch.from_numpy(np.ascontiguousarray(a, dtype=np.float32)), requires_grad=False)


class Proj(nn.Module):
    def __init__(self, w: np.ndarray, b: np.ndarray | None):
        super().__init__()
        self.weight_t = _p(w.T)  # HF stores [out, in]
        self.bias = _p(b) if b is not None else None

    def forward(self, x):
        y = torch.matmul(x, self.weight_t)
        return y + self.bias if self.bias is not None else y


def rms_normalize(x, eps: float):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps)


class RmsStat(nn.Module):
    def __init__(self, eps: float):
        super().__init__()
        self.eps = eps

    def forward(self, x):
        return rms_normalize(x, self.eps)


class RMSNorm(nn.Module):
    def __init__(self, w: np.ndarray, eps: float):
        super().__init__()
        self.fp32_stat = RmsStat(eps)
        self.weight = _p(w)

    def forward(self, x):
        return self.weight * self.fp32_stat(x)  # HF: weight * normalized.to(input_dtype)


def rope_tables(position_ids, inv_freq):
    """cos, sin [b, 1, s, hd] for position_ids [b, s] and inv_freq [hd/2]."""
    freqs = position_ids.to(torch.float32).unsqueeze(-1) * inv_freq  # [b, s, hd/2]
    emb = torch.cat([freqs, freqs], dim=-1)  # HF "rotate_half" layout
    return emb.cos().unsqueeze(1), emb.sin().unsqueeze(1)


class RopeTable(nn.Module):
    def __init__(self, spec: Spec):
        super().__init__()
        self.register_buffer("inv_freq", torch.from_numpy(rope_inv_freq(spec)), persistent=False)

    def forward(self, position_ids):
        return rope_tables(position_ids, self.inv_freq)


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


def causal_bias(mask2d, s: int):
    """Additive bias [b,1,s,t] from a padding mask [b,t]: query i (absolute t-s+i) sees keys j <= t-s+i."""
    t = mask2d.shape[1]
    q_pos = torch.arange(s).unsqueeze(1) + (t - s)
    k_pos = torch.arange(t).unsqueeze(0)
    keep = (k_pos <= q_pos).unsqueeze(0) & (mask2d.unsqueeze(1) > 0)
    zero = torch.zeros((), dtype=torch.float32)
    neg = torch.full((), NEG, dtype=torch.float32)
    return torch.where(keep, zero, neg).unsqueeze(1)


class MaskBuilder(nn.Module):
    def forward(self, mask2d, s_like):
        return causal_bias(mask2d, s_like.shape[1])


class MaskedSoftmax(nn.Module):
    def forward(self, att, bias, b: int, kv: int, rep: int, s: int, t: int):
        return torch.softmax(att.reshape(b, kv, rep, s, t) + bias.unsqueeze(1), dim=-1).reshape(b, kv, rep * s, t)


class GroupedAttention(nn.Module):
    """Rotary + grouped-query attention; subclasses make q_proj, k_proj, v_proj and o_proj (x @ W -> heads * hd)."""

    def __init__(self, heads: int, kv_heads: int, head_dim: int):
        super().__init__()
        self.h, self.kv, self.hd = heads, kv_heads, head_dim
        self.fp32_softmax = MaskedSoftmax()

    def head_norm(self, q, k):
        """q [b,s,h,hd], k [b,s,kv,hd] before RoPE: as they are (Llama, Qwen2); Qwen3 normalizes each head."""
        return q, k

    def forward(self, x, cos, sin, bias, past_k, past_v, append_only: bool = False):
        b, s, _ = x.shape
        q, k = self.head_norm(self.q_proj(x).view(b, s, self.h, self.hd), self.k_proj(x).view(b, s, self.kv, self.hd))
        q, k = q.transpose(1, 2), k.transpose(1, 2)
        v = self.v_proj(x).view(b, s, self.kv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.h // self.kv
        # GQA without repeating K/V: query heads kv_i*rep .. kv_i*rep+rep-1 share kv head kv_i, so folding them
        # into the query axis lets one matmul per kv head read the cache in place.
        qg = (q * (1.0 / math.sqrt(self.hd))).reshape(b, self.kv, rep * s, self.hd)
        # Scores against cached and new keys are computed apart: concatenating K first would copy the cache.
        att = torch.matmul(qg, k.transpose(2, 3))
        if past_k is not None:
            att = torch.cat([torch.matmul(qg, past_k.transpose(2, 3)), att], dim=-1)
        t = att.shape[-1]
        att = self.fp32_softmax(att, bias, b, self.kv, rep, s, t)
        if past_k is None:
            y = torch.matmul(att, v)
        else:
            p = t - s
            y = torch.matmul(att[..., :p], past_v) + torch.matmul(att[..., p:], v)
        y = y.reshape(b, self.h, s, self.hd).transpose(1, 2).reshape(b, s, self.h * self.hd)
        # append_only: the new positions' K/V alone; the caller keeps the cache and appends them.
        if append_only or past_k is None:
            present = (k, v)
        else:
            present = (torch.cat([past_k, k], dim=2), torch.cat([past_v, v], dim=2))
        return self.o_proj(y), present


class Attention(GroupedAttention):
    def __init__(self, spec: Spec, w, pre: str):
        super().__init__(spec.heads, spec.kv_heads, spec.head_dim)
        bias = (lambda n: w.get(f"{pre}.{n}.bias")) if spec.qkv_bias else (lambda n: None)
        self.q_proj = Proj(w.get(f"{pre}.q_proj.weight"), bias("q_proj"))
        self.k_proj = Proj(w.get(f"{pre}.k_proj.weight"), bias("k_proj"))
        self.v_proj = Proj(w.get(f"{pre}.v_proj.weight"), bias("v_proj"))
        self.o_proj = Proj(w.get(f"{pre}.o_proj.weight"), w.get(f"{pre}.o_proj.bias") if spec.o_bias else None)
        self.q_norm = RMSNorm(w.get(f"{pre}.q_norm.weight"), spec.eps) if spec.qk_norm else None
        self.k_norm = RMSNorm(w.get(f"{pre}.k_norm.weight"), spec.eps) if spec.qk_norm else None

    def head_norm(self, q, k):
        return (q, k) if self.q_norm is None else (self.q_norm(q), self.k_norm(k))  # Qwen3: RMSNorm over head_dim


class SwiGLU(nn.Module):
    """Subclasses make gate_proj, up_proj and down_proj."""

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class MLP(SwiGLU):
    def __init__(self, spec: Spec, w, pre: str):
        super().__init__()
        b = (lambda n: w.get(f"{pre}.{n}.bias")) if spec.mlp_bias else (lambda n: None)
        self.gate_proj = Proj(w.get(f"{pre}.gate_proj.weight"), b("gate_proj"))
        self.up_proj = Proj(w.get(f"{pre}.up_proj.weight"), b("up_proj"))
        self.down_proj = Proj(w.get(f"{pre}.down_proj.weight"), b("down_proj"))


class PreNormBlock(nn.Module):
    """A Llama decoder layer's residual wiring; subclasses make input_layernorm, self_attn, post_attention_layernorm
    and mlp."""

    def forward(self, x, cos, sin, bias, pk, pv, append_only: bool):
        a, present = self.self_attn(self.input_layernorm(x), cos, sin, bias, pk, pv, append_only)
        x = x + a
        return x + self.mlp(self.post_attention_layernorm(x)), present


def run_layers(layers, x, cos, sin, bias, past, append_only: bool):
    """x through every PreNormBlock; past: [(k, v)] per layer or None. Returns x and the presents."""
    presents = []
    for i, layer in enumerate(layers):
        pk, pv = (None, None) if past is None else past[i]
        x, pres = layer(x, cos, sin, bias, pk, pv, append_only)
        presents.append(pres)
    return x, presents


class Block(PreNormBlock):
    def __init__(self, spec: Spec, w, i: int):
        super().__init__()
        pre = f"model.layers.{i}"
        self.input_layernorm = RMSNorm(w.get(f"{pre}.input_layernorm.weight"), spec.eps)
        self.self_attn = Attention(spec, w, f"{pre}.self_attn")
        self.post_attention_layernorm = RMSNorm(w.get(f"{pre}.post_attention_layernorm.weight"), spec.eps)
        self.mlp = MLP(spec, w, f"{pre}.mlp")


def keep_last(h, n):
    """The last n positions of h [b, s, d] (all when n == 0), with s and n both dynamic in the graph."""
    s = torch._shape_as_tensor(h)[1]
    k = torch.where(n > 0, torch.minimum(n, s), s)
    return torch.index_select(h, 1, torch.arange(s - k, s))


class Decoder(nn.Module):
    """Built from a weight source with .get(hf_name) -> float32 array; layer by layer to keep peak memory low."""

    def __init__(self, spec: Spec, w):
        super().__init__()
        self.spec = spec
        self.embed = _p(w.get("model.embed_tokens.weight"))
        self.fp32_rope = RopeTable(spec)
        self.fp32_mask = MaskBuilder()
        self.layers = nn.ModuleList([Block(spec, w, i) for i in range(spec.layers)])
        self.norm = RMSNorm(w.get("model.norm.weight"), spec.eps)
        self.lm_head_t = None if spec.tied else _p(w.get("lm_head.weight").T)  # [in, out] like Proj

    def forward(self, input_ids, mask, position_ids, past, num_logits_to_keep, append_only: bool = False):
        bias = mask if mask.dim() == 4 else self.fp32_mask(mask, input_ids)
        cos, sin = self.fp32_rope(position_ids)
        x, presents = run_layers(self.layers, F.embedding(input_ids, self.embed), cos, sin, bias, past, append_only)
        h = self.norm(x)
        if num_logits_to_keep is not None:  # None: a graph without that input (tools/train's embedded model)
            h = keep_last(h, num_logits_to_keep)
        # tied: a run-time Transpose of the embedding, which then stays stored once
        logits = torch.matmul(h, self.embed.t() if self.lm_head_t is None else self.lm_head_t)
        return logits, h, presents
