"""Llama-layout decoder (RMSNorm, RoPE, grouped-query attention, SwiGLU, tied embeddings) in PyTorch 1.13.

One forward serves training and both ONNX graphs:
  forward(input_ids, mask, position_ids, past, append_only=False) -> logits, last_hidden_state, presents
`mask` is either the 2-D int64 padding mask [b, past+s] (causal part built here, inside the graph)
or an additive float32 4-D mask [b, 1, s, past+s] used as-is (tree verification: the caller decides
which earlier positions each token sees). `presents` are past + new K/V per layer (Hugging Face's layout), or with
append_only the new positions' K/V alone (the tree graph's layout: the caller keeps the cache). Written with plain
tensor ops so tracing gives dynamic shapes.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import ModelConfig

NEG = -1e9  # finite "minus infinity": fully padded rows stay NaN-free


class RMSNorm(nn.Module):
    def __init__(self, d: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_cos_sin(position_ids, head_dim: int, theta: float):
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    freqs = position_ids.to(torch.float32).unsqueeze(-1) * inv  # [b, s, hd/2]
    emb = torch.cat([freqs, freqs], dim=-1)  # HF "rotate_half" layout
    return emb.cos().unsqueeze(1), emb.sin().unsqueeze(1)  # [b, 1, s, hd]


def rotate_half(x):
    h = x.shape[-1] // 2
    return torch.cat([-x[..., h:], x[..., :h]], dim=-1)


class Attention(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.h, self.kv, self.hd = c.n_heads, c.n_kv_heads, c.d_model // c.n_heads
        self.q_proj = nn.Linear(c.d_model, self.h * self.hd, bias=False)
        self.k_proj = nn.Linear(c.d_model, self.kv * self.hd, bias=False)
        self.v_proj = nn.Linear(c.d_model, self.kv * self.hd, bias=False)
        self.o_proj = nn.Linear(self.h * self.hd, c.d_model, bias=False)

    def forward(self, x, cos, sin, bias, past_k, past_v, append_only: bool = False):
        b, s, _ = x.shape
        q = self.q_proj(x).view(b, s, self.h, self.hd).transpose(1, 2)
        k = self.k_proj(x).view(b, s, self.kv, self.hd).transpose(1, 2)
        v = self.v_proj(x).view(b, s, self.kv, self.hd).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        rep = self.h // self.kv
        # GQA: each kv head serves `rep` query heads (heads kv_i * rep .. kv_i * rep + rep - 1). Folding those
        # heads into the query axis lets one matmul per kv head read K and V in place: repeating K/V per query
        # head would copy the whole cache every step, the largest cost of a batched decode step on a CPU.
        qg = (q * (1.0 / math.sqrt(self.hd))).reshape(b, self.kv, rep * s, self.hd)
        # Scores against the cached and the new keys are computed apart and only the small score matrices are
        # joined: concatenating past and new K/V first would copy the whole cache on every step.
        att = torch.matmul(qg, k.transpose(2, 3))
        if past_k is not None:
            att = torch.cat([torch.matmul(qg, past_k.transpose(2, 3)), att], dim=-1)
        t = att.shape[-1]
        att = torch.softmax(att.reshape(b, self.kv, rep, s, t) + bias.unsqueeze(1), dim=-1).reshape(b, self.kv, rep * s, t)
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


class MLP(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.gate_proj = nn.Linear(c.d_model, c.ffn_dim, bias=False)
        self.up_proj = nn.Linear(c.d_model, c.ffn_dim, bias=False)
        self.down_proj = nn.Linear(c.ffn_dim, c.d_model, bias=False)

    def forward(self, x):
        return self.down_proj(F.silu(self.gate_proj(x)) * self.up_proj(x))


class Block(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(c.d_model, c.norm_eps)
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c.d_model, c.norm_eps)
        self.mlp = MLP(c)

    def forward(self, x, cos, sin, bias, pk, pv, append_only: bool = False):
        a, present = self.self_attn(self.input_layernorm(x), cos, sin, bias, pk, pv, append_only)
        x = x + a
        return x + self.mlp(self.post_attention_layernorm(x)), present


def mask_from_2d(mask2d, s: int):
    """Additive bias [b,1,s,t] from a 2-D padding mask [b,t]: query i (absolute t-s+i) sees keys j <= t-s+i."""
    t = mask2d.shape[1]
    q_pos = torch.arange(s).unsqueeze(1) + (t - s)  # [s,1]
    k_pos = torch.arange(t).unsqueeze(0)  # [1,t]
    causal = k_pos <= q_pos  # [s,t]
    keep = causal.unsqueeze(0) & (mask2d.unsqueeze(1) > 0)  # [b,s,t]
    zero = torch.zeros((), dtype=torch.float32)
    neg = torch.full((), NEG, dtype=torch.float32)
    return torch.where(keep, zero, neg).unsqueeze(1)


class GlimpseLM(nn.Module):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.cfg = c
        self.embed_tokens = nn.Embedding(c.vocab_size, c.d_model)
        self.layers = nn.ModuleList([Block(c) for _ in range(c.n_layers)])
        self.norm = RMSNorm(c.d_model, c.norm_eps)
        self.apply(self._init)
        # scaled init of residual projections (GPT-2 style) keeps early training stable
        for n, p in self.named_parameters():
            if n.endswith("o_proj.weight") or n.endswith("down_proj.weight"):
                nn.init.normal_(p, std=0.02 / math.sqrt(2 * c.n_layers))

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)

    def forward(self, input_ids, mask=None, position_ids=None, past=None, append_only: bool = False):
        b, s = input_ids.shape
        past_len = 0 if past is None else past[0][0].shape[2]
        if position_ids is None:
            position_ids = torch.arange(past_len, past_len + s).unsqueeze(0).expand(b, s)
        if mask is None:
            mask = torch.ones(b, past_len + s, dtype=torch.int64)
        bias = mask if mask.dim() == 4 else mask_from_2d(mask, s)
        cos, sin = rope_cos_sin(position_ids, self.cfg.d_model // self.cfg.n_heads, self.cfg.rope_theta)
        x = self.embed_tokens(input_ids)
        presents = []
        for i, layer in enumerate(self.layers):
            pk, pv = (None, None) if past is None else past[i]
            x, pres = layer(x, cos, sin, bias, pk, pv, append_only)
            presents.append(pres)
        h = self.norm(x)
        logits = torch.matmul(h, self.embed_tokens.weight.t())  # tied LM head
        return logits, h, presents

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
