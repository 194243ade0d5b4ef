"""The trainable Llama-layout decoder (RMSNorm, RoPE, grouped-query attention, SwiGLU, tied embeddings), PyTorch 1.13.

  forward(input_ids, mask, position_ids, past, append_only=False) -> logits, last_hidden_state, presents
`mask` is either the 2-D int64 padding mask [b, past+s] (causal part built from it) or an additive float32 4-D
mask [b, 1, s, past+s] used as-is (tree verification: the caller decides which earlier positions each token sees).
`presents` are past + new K/V per layer (Hugging Face's layout), or with append_only the new positions' K/V alone
(the tree graph's layout: the caller keeps the cache).
The computation is tools/convert's (glimpse_convert.model: attention, RoPE tables, masks, layer wiring); the classes
here hold the trainable parameters (nn.Linear / nn.Embedding, named like transformers' LlamaModel, so the state
dict with a "model." prefix is a Hugging Face checkpoint). export_onnx.py exports through glimpse_convert's Decoder.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
from glimpse_convert.model import (GroupedAttention, PreNormBlock, SwiGLU, causal_bias, rms_normalize, rope_tables,
                                   run_layers)

from .config import ModelConfig


class RMSNorm(nn.Module):
    def __init__(self, d: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(d))

    def forward(self, x):
        return rms_normalize(x, self.eps) * self.weight


def rope_cos_sin(position_ids, head_dim: int, theta: float):
    inv = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    return rope_tables(position_ids, inv)


class Attention(GroupedAttention):
    def __init__(self, c: ModelConfig):
        super().__init__(c.n_heads, c.n_kv_heads, c.d_model // c.n_heads)
        self.q_proj = nn.Linear(c.d_model, self.h * self.hd, bias=False)
        self.k_proj = nn.Linear(c.d_model, self.kv * self.hd, bias=False)
        self.v_proj = nn.Linear(c.d_model, self.kv * self.hd, bias=False)
        self.o_proj = nn.Linear(self.h * self.hd, c.d_model, bias=False)


class MLP(SwiGLU):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.gate_proj = nn.Linear(c.d_model, c.ffn_dim, bias=False)
        self.up_proj = nn.Linear(c.d_model, c.ffn_dim, bias=False)
        self.down_proj = nn.Linear(c.ffn_dim, c.d_model, bias=False)


class Block(PreNormBlock):
    def __init__(self, c: ModelConfig):
        super().__init__()
        self.input_layernorm = RMSNorm(c.d_model, c.norm_eps)
        self.self_attn = Attention(c)
        self.post_attention_layernorm = RMSNorm(c.d_model, c.norm_eps)
        self.mlp = MLP(c)


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
        bias = mask if mask.dim() == 4 else causal_bias(mask, s)
        cos, sin = rope_cos_sin(position_ids, self.cfg.d_model // self.cfg.n_heads, self.cfg.rope_theta)
        x, presents = run_layers(self.layers, self.embed_tokens(input_ids), cos, sin, bias, past, append_only)
        h = self.norm(x)
        logits = torch.matmul(h, self.embed_tokens.weight.t())  # tied LM head
        return logits, h, presents

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())
