"""Writes a random Hugging Face checkpoint (config.json, bf16 safetensors, tokenizer files) for tests and benches.

python3 -m glimpse_convert.random_checkpoint --family llama|qwen2|qwen3 --shape tiny|llama-100m|qwen2.5-0.5b
    --tokenizer-dir DIR --out DIR [--seed N] [--shards N] [--rope-scaling llama3|linear|none] [--tied]
Weights are scaled so activations keep unit size through the layers and logits spread widely (std about 4):
the greedy token then wins by a clear margin, not a float tie.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil

import numpy as np

from .safetensors_io import f32_to_bf16, write

SHAPES = {
    # hidden, layers, heads, kv_heads, ffn, head_dim (None = hidden / heads)
    "tiny": (64, 2, 4, 2, 128, None),
    "llama-100m": (768, 12, 12, 4, 2048, None),
    "qwen2.5-0.5b": (896, 24, 14, 2, 4864, None),
}
ARCH = {"llama": "LlamaForCausalLM", "qwen2": "Qwen2ForCausalLM", "qwen3": "Qwen3ForCausalLM"}
TOKENIZER_FILES = ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "vocab.json", "merges.txt",
                   "chat_template.jinja")


def tokenizer_vocab(tok_dir: str) -> tuple[int, int | None, int | None]:
    """(vocab size covering every id incl. added tokens, bos id, eos id)."""
    with open(os.path.join(tok_dir, "tokenizer.json")) as f:
        tj = json.load(f)
    ids = {tok["content"]: tok["id"] for tok in tj.get("added_tokens", [])}
    ids.update(tj["model"]["vocab"])
    n = max(ids.values()) + 1
    tc = {}
    p = os.path.join(tok_dir, "tokenizer_config.json")
    if os.path.exists(p):
        with open(p) as f:
            tc = json.load(f)

    def tid(key):
        v = tc.get(key)
        v = v.get("content") if isinstance(v, dict) else v
        return ids.get(v) if v else None
    return n, tid("bos_token"), tid("eos_token")


def make_config(family: str, shape: str, vocab: int, bos, eos, rope_scaling: str, tied: bool) -> dict:
    hidden, layers, heads, kv, ffn, hd = SHAPES[shape]
    if family == "qwen3" and shape == "tiny":
        hd = 32  # Qwen3 lets head_dim differ from hidden / heads: exercise it
    cfg = {
        "architectures": [ARCH[family]], "model_type": family, "vocab_size": vocab, "hidden_size": hidden,
        "intermediate_size": ffn, "num_hidden_layers": layers, "num_attention_heads": heads,
        "num_key_value_heads": kv, "hidden_act": "silu", "max_position_embeddings": 32768,
        "rms_norm_eps": 1e-6, "rope_theta": 1000000.0 if family != "llama" else 500000.0,
        "tie_word_embeddings": tied, "torch_dtype": "bfloat16", "use_cache": True, "bos_token_id": bos, "eos_token_id": eos,
    }
    if hd is not None:
        cfg["head_dim"] = hd
    if family == "llama":
        cfg.update(attention_bias=False, mlp_bias=False, rope_scaling={
            "llama3": {"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                       "original_max_position_embeddings": 8192},
            "linear": {"type": "linear", "factor": 4.0}, "none": None}[rope_scaling])
    elif family == "qwen2":
        cfg.update(use_sliding_window=False, sliding_window=32768, max_window_layers=layers)
    else:
        cfg.update(attention_bias=False, use_sliding_window=False)
    return cfg


def weights(cfg: dict, rng: np.random.Generator):
    """Yields (name, float32 array) in HF naming."""
    d, f, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    h, kv = cfg["num_attention_heads"], cfg["num_key_value_heads"]
    hd = cfg.get("head_dim") or d // h
    qwen2, qwen3 = cfg["model_type"] == "qwen2", cfg["model_type"] == "qwen3"
    lin = lambda o, i: rng.standard_normal((o, i), dtype=np.float32) / np.sqrt(i)  # noqa: E731
    norm = lambda n: 1.0 + 0.2 * rng.standard_normal(n, dtype=np.float32)  # noqa: E731
    # tied: the embedding is also the LM head, so logits = h . e with |h| ~ sqrt(d): std 4/sqrt(d) spreads them
    yield "model.embed_tokens.weight", rng.standard_normal((v, d), dtype=np.float32) * (4.0 / np.sqrt(d))
    for i in range(cfg["num_hidden_layers"]):
        p = f"model.layers.{i}"
        yield f"{p}.input_layernorm.weight", norm(d)
        yield f"{p}.self_attn.q_proj.weight", lin(h * hd, d) * 2.0  # larger q: sharper attention, not uniform
        yield f"{p}.self_attn.k_proj.weight", lin(kv * hd, d)
        yield f"{p}.self_attn.v_proj.weight", lin(kv * hd, d)
        yield f"{p}.self_attn.o_proj.weight", lin(d, h * hd) * 0.5
        if qwen2:
            for n, o in (("q_proj", h * hd), ("k_proj", kv * hd), ("v_proj", kv * hd)):
                yield f"{p}.self_attn.{n}.bias", 0.5 * rng.standard_normal(o, dtype=np.float32)
        if qwen3:
            yield f"{p}.self_attn.q_norm.weight", norm(hd)
            yield f"{p}.self_attn.k_norm.weight", norm(hd)
        yield f"{p}.post_attention_layernorm.weight", norm(d)
        yield f"{p}.mlp.gate_proj.weight", lin(f, d)
        yield f"{p}.mlp.up_proj.weight", lin(f, d)
        yield f"{p}.mlp.down_proj.weight", lin(d, f) * 0.5
    yield "model.norm.weight", norm(d)
    if not cfg["tie_word_embeddings"]:
        yield "lm_head.weight", rng.standard_normal((v, d), dtype=np.float32) * (4.0 / np.sqrt(d))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--family", required=True, choices=sorted(ARCH))
    ap.add_argument("--shape", required=True, choices=sorted(SHAPES))
    ap.add_argument("--tokenizer-dir", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--shards", type=int, default=1)
    ap.add_argument("--rope-scaling", choices=("llama3", "linear", "none"), default=None,
                    help="llama only (default: llama3 for llama-100m, none otherwise)")
    ap.add_argument("--tied", action="store_true", help="llama only: tie the LM head to the embedding")
    ap.add_argument("--vocab-size", type=int, default=None, help="default: the real model's (Qwen 151936) or the tokenizer's")
    a = ap.parse_args()
    n_tok, bos, eos = tokenizer_vocab(a.tokenizer_dir)
    vocab = a.vocab_size or (151936 if a.family != "llama" else n_tok)
    if vocab < n_tok:
        ap.error(f"--vocab-size {vocab} is below the tokenizer's {n_tok} ids")
    tied = a.family != "llama" or a.tied
    scaling = a.rope_scaling or ("llama3" if a.shape == "llama-100m" else "none")
    cfg = make_config(a.family, a.shape, vocab, bos, eos, scaling, tied)
    os.makedirs(a.out, exist_ok=True)
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(os.path.join(a.out, "generation_config.json"), "w") as f:
        gen = {"bos_token_id": bos, "eos_token_id": eos, "do_sample": False}
        json.dump({k: v for k, v in gen.items() if v is not None}, f, indent=2)
    for name in TOKENIZER_FILES:
        if os.path.exists(os.path.join(a.tokenizer_dir, name)):
            shutil.copy(os.path.join(a.tokenizer_dir, name), os.path.join(a.out, name))
    rng = np.random.default_rng(a.seed)
    tensors = {k: f32_to_bf16(w) for k, w in weights(cfg, rng)}
    names = list(tensors)
    if a.shards <= 1:
        write(os.path.join(a.out, "model.safetensors"), tensors)
    else:
        groups = np.array_split(np.arange(len(names)), a.shards)
        weight_map = {}
        for i, g in enumerate(groups):
            fname = f"model-{i + 1:05d}-of-{a.shards:05d}.safetensors"
            write(os.path.join(a.out, fname), {names[j]: tensors[names[j]] for j in g})
            weight_map.update({names[j]: fname for j in g})
        total = sum(t.nbytes for t in tensors.values())
        with open(os.path.join(a.out, "model.safetensors.index.json"), "w") as f:
            json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)
    print(json.dumps({"out": a.out, "family": a.family, "shape": a.shape, "vocab_size": vocab, "tensors": len(names)}))


if __name__ == "__main__":
    main()
