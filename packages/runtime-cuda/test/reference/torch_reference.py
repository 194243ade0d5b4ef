"""A second, independent forward pass for the TS reference to be checked against: tools/train's PyTorch
GlimpseLM (Llama layout), patched where a family differs, following Hugging Face transformers:
  llama3  rope_scaling "llama3" (modeling_rope_utils._compute_llama3_parameters) replaces the RoPE table;
  qwen2   q/k/v projections with biases;
  qwen3   RMSNorm over head_dim on each q and k head (q_norm, k_norm) before RoPE.
Writes OUT/<variant>/{config.json, model.safetensors (BF16), expected.json (ids + logits at every position)},
plus OUT/llama-f32-sharded (the llama weights as F32 in two shards with an index) and OUT/llama-f16 (F16).
Usage: /usr/bin/python3 torch_reference.py OUT
"""
import json
import math
import os
import struct
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "../../../../tools/train"))
from glimpse_train import model as M  # noqa: E402
from glimpse_train.config import ModelConfig  # noqa: E402

torch.set_num_threads(2)
OUT = sys.argv[1]
ORIG = 64  # llama3 original_max_position_embeddings: small, so the remap touches several frequencies
SCALING = dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0, original_max_position_embeddings=ORIG)
ARCH = {"llama": "LlamaForCausalLM", "llama3": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM"}
IDS = [5, 17, 300, 42, 42, 7, 99, 511, 0, 256, 13, 5]


def llama3_cos_sin(position_ids, hd, theta):
    inv = 1.0 / (theta ** (torch.arange(0, hd, 2, dtype=torch.float64) / hd))
    f, lo, hi = SCALING["factor"], SCALING["low_freq_factor"], SCALING["high_freq_factor"]
    wl = 2 * math.pi / inv
    base = torch.where(wl > ORIG / lo, inv / f, inv)
    smooth = (ORIG / wl - lo) / (hi - lo)
    medium = ~(wl < ORIG / hi) & ~(wl > ORIG / lo)
    inv = torch.where(medium, (1 - smooth) * base / f + smooth * base, base).float()
    freqs = position_ids.float().unsqueeze(-1) * inv
    emb = torch.cat([freqs, freqs], -1)
    return emb.cos().unsqueeze(1), emb.sin().unsqueeze(1)


def with_head_norm(lin, norm, heads, hd):
    orig = lin.forward
    lin.forward = lambda x: norm(orig(x).view(*x.shape[:-1], heads, hd)).reshape(*x.shape[:-1], heads * hd)


def write_safetensors(path, tensors, dtype):
    header, blobs, off = {}, [], 0
    for name, t in tensors.items():
        if dtype == "BF16":
            data = t.to(torch.bfloat16).view(torch.int16).numpy().astype("<i2").tobytes()
        else:
            data = t.numpy().astype("<f2" if dtype == "F16" else "<f4").tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [off, off + len(data)]}
        off += len(data)
        blobs.append(data)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def build(variant):
    torch.manual_seed(0)
    c = ModelConfig(vocab_size=512, d_model=64, n_layers=2, n_heads=4, n_kv_heads=2, ffn_dim=96,
                    rope_theta=500000.0 if variant == "llama3" else 10000.0, norm_eps=1e-5)
    M.rope_cos_sin = llama3_cos_sin if variant == "llama3" else ORIGINAL_ROPE
    m = M.GlimpseLM(c).eval()
    hd = c.d_model // c.n_heads
    for blk in m.layers:
        a = blk.self_attn
        if variant == "qwen3":
            a.q_norm, a.k_norm = M.RMSNorm(hd, c.norm_eps), M.RMSNorm(hd, c.norm_eps)
            with_head_norm(a.q_proj, a.q_norm, a.h, hd)
            with_head_norm(a.k_proj, a.k_norm, a.kv, hd)
        if variant == "qwen2":
            for name in ("q_proj", "k_proj", "v_proj"):
                old = getattr(a, name)
                new = torch.nn.Linear(old.in_features, old.out_features, bias=True)
                new.weight.data = old.weight.data
                torch.nn.init.normal_(new.bias, std=0.5)
                setattr(a, name, new)
    with torch.no_grad():
        for n, p in m.named_parameters():
            if "norm" in n:
                p.copy_(1 + 0.3 * torch.randn_like(p))  # norms away from 1, so a missing one shows
            if n == "embed_tokens.weight":
                p.mul_(50)  # larger logits: a clear argmax
            p.copy_(p.to(torch.bfloat16).float())  # the values the BF16 file holds
        logits, _, _ = m(torch.tensor([IDS]))
    d = os.path.join(OUT, variant)
    os.makedirs(d, exist_ok=True)
    tensors = {"model." + n: p.detach().clone() for n, p in m.named_parameters()}
    write_safetensors(os.path.join(d, "model.safetensors"), tensors, "BF16")
    cfg = dict(architectures=[ARCH[variant]], vocab_size=512, hidden_size=64, num_hidden_layers=2, num_attention_heads=4,
               num_key_value_heads=2, intermediate_size=96, rms_norm_eps=1e-5, rope_theta=c.rope_theta,
               tie_word_embeddings=True, head_dim=hd)
    if variant == "llama3":
        cfg["rope_scaling"] = SCALING
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(cfg, f)
    with open(os.path.join(d, "expected.json"), "w") as f:
        json.dump({"ids": IDS, "logits": logits[0].tolist()}, f)
    return tensors, cfg


ORIGINAL_ROPE = M.rope_cos_sin
for v in ARCH:
    tensors, cfg = build(v)
    if v == "llama":
        names = list(tensors)
        shards = {"model-00001-of-00002.safetensors": names[: len(names) // 2], "model-00002-of-00002.safetensors": names[len(names) // 2:]}
        for sub, files in (("llama-f32-sharded", shards), ("llama-f16", {"model.safetensors": names})):
            d = os.path.join(OUT, sub)
            os.makedirs(d, exist_ok=True)
            for file, part in files.items():
                write_safetensors(os.path.join(d, file), {n: tensors[n] for n in part}, "F16" if sub == "llama-f16" else "F32")
            if sub == "llama-f32-sharded":
                with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
                    json.dump({"metadata": {}, "weight_map": {n: file for file, part in files.items() for n in part}}, f)
            with open(os.path.join(d, "config.json"), "w") as f:
                json.dump(cfg, f)
print("ok")
