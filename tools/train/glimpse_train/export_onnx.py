"""Exports the target model to ONNX (two graphs) and writes the Hugging Face config files.

onnx/model.onnx       HF Optimum "decoder with past" layout (transformers.js compatible), plus last_hidden_state:
  inputs : input_ids [b,s] int64, attention_mask [b,past+s] int64, position_ids [b,s] int64,
           past_key_values.{i}.key|value [b,kv_heads,past,head_dim] float32 (past may be 0)
  outputs: logits [b,s,V] float32, last_hidden_state [b,s,d] float32 (after the final RMSNorm),
           present.{i}.key|value [b,kv_heads,past+s,head_dim] float32
  The causal + padding mask is built inside the graph from the 2-D mask, so any past length works.
onnx/model_tree.onnx  Glimpse's own layout, two differences:
  - attention_mask is an additive float32 [b,1,s,past+s] mask (0 = attend, large negative = masked), used
    as-is: tree verification needs arbitrary ancestor masks that a 2-D padding mask cannot express;
  - outputs present_append.{i}.key|value [b,kv_heads,s,head_dim]: the new positions' K/V only. The engine
    keeps the cache in buffers with room to grow and writes them in place; a full present output makes
    onnxruntime copy the whole cache inside the graph and again into a fresh JS buffer on every step
    (the largest cost of a batched decode step on a CPU).
  A separate file keeps model.onnx loadable by stock Optimum/transformers.js.
The tied embedding is stored once: constant folding is off, so the LM head is Transpose(embed_tokens.weight)
at run time instead of a second, pre-transposed copy in the file.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil

import torch

from . import config
from .model import GlimpseLM
from .train_target import load_model

OPSET = 14


class Decoder(torch.nn.Module):
    def __init__(self, m: GlimpseLM, append_only: bool):
        super().__init__()
        self.m = m
        self.append_only = append_only

    def forward(self, input_ids, attention_mask, position_ids, *past_flat):
        past = [(past_flat[2 * i], past_flat[2 * i + 1]) for i in range(len(past_flat) // 2)]
        logits, h, presents = self.m(input_ids, attention_mask, position_ids, past, self.append_only)
        out = [logits, h]
        for k, v in presents:
            out += [k, v]
        return tuple(out)


def io_names(n_layers: int, append_only: bool = False) -> tuple[list[str], list[str]]:
    past = [f"past_key_values.{i}.{kv}" for i in range(n_layers) for kv in ("key", "value")]
    out = "present_append" if append_only else "present"
    present = [f"{out}.{i}.{kv}" for i in range(n_layers) for kv in ("key", "value")]
    return ["input_ids", "attention_mask", "position_ids"] + past, ["logits", "last_hidden_state"] + present


def export(model: GlimpseLM, path: str, tree: bool) -> None:
    c = model.cfg
    hd = c.d_model // c.n_heads
    b, s, past = 1, 3, 5  # parity is checked on other shapes (see parity.py)
    ids = torch.randint(0, c.vocab_size, (b, s))
    pos = torch.arange(past, past + s).unsqueeze(0)
    if tree:
        from .model import mask_from_2d
        mask = mask_from_2d(torch.ones(b, past + s, dtype=torch.int64), s)
    else:
        mask = torch.ones(b, past + s, dtype=torch.int64)
    pkv = [torch.randn(b, c.n_kv_heads, past, hd) for _ in range(2 * c.n_layers)]
    inputs, outputs = io_names(c.n_layers, append_only=tree)
    axes = {"input_ids": {0: "batch_size", 1: "sequence_length"},
            "position_ids": {0: "batch_size", 1: "sequence_length"},
            "attention_mask": ({0: "batch_size", 2: "sequence_length", 3: "total_sequence_length"} if tree
                               else {0: "batch_size", 1: "total_sequence_length"}),
            "logits": {0: "batch_size", 1: "sequence_length"},
            "last_hidden_state": {0: "batch_size", 1: "sequence_length"}}
    for n in inputs[3:]:
        axes[n] = {0: "batch_size", 2: "past_sequence_length"}
    for n in outputs[2:]:
        axes[n] = {0: "batch_size", 2: "sequence_length" if tree else "total_sequence_length"}
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(Decoder(model, append_only=tree), (ids, mask, pos, *pkv), path, input_names=inputs, output_names=outputs,
                          dynamic_axes=axes, opset_version=OPSET, do_constant_folding=False)


def hf_config(cfg: config.Config) -> dict:
    c = cfg.model
    return {
        "architectures": ["LlamaForCausalLM"],
        "model_type": "llama",
        "vocab_size": c.vocab_size,
        "hidden_size": c.d_model,
        "intermediate_size": c.ffn_dim,
        "num_hidden_layers": c.n_layers,
        "num_attention_heads": c.n_heads,
        "num_key_value_heads": c.n_kv_heads,
        "head_dim": c.d_model // c.n_heads,
        "hidden_act": "silu",
        "max_position_embeddings": c.max_position_embeddings,
        "rms_norm_eps": c.norm_eps,
        "rope_theta": c.rope_theta,
        "rope_scaling": None,
        "attention_bias": False,
        "mlp_bias": False,
        "tie_word_embeddings": True,
        "bos_token_id": None,
        "eos_token_id": config.SPECIAL_TOKENS.index("<|endoftext|>"),
        "pad_token_id": config.SPECIAL_TOKENS.index("<|pad|>"),
        "torch_dtype": "float32",
        "use_cache": True,
        "training_seq_len": cfg.seq_len,
        "transformers.js_config": {"dtype": "fp32", "use_external_data_format": False},
    }


def generation_config() -> dict:
    return {
        "eos_token_id": config.SPECIAL_TOKENS.index("<|endoftext|>"),
        "pad_token_id": config.SPECIAL_TOKENS.index("<|pad|>"),
        "do_sample": False,
        "max_new_tokens": 256,
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    cfg, _ = config.parse(p)
    ps = config.paths(cfg)
    model = load_model(cfg)
    out = ps["model"]
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    export(model, os.path.join(out, "onnx", "model.onnx"), tree=False)
    export(model, os.path.join(out, "onnx", "model_tree.onnx"), tree=True)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(hf_config(cfg), f, indent=2)
    with open(os.path.join(out, "generation_config.json"), "w") as f:
        json.dump(generation_config(), f, indent=2)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(ps["tokenizer"], name), os.path.join(out, name))
    sizes = {n: os.path.getsize(os.path.join(out, "onnx", n)) for n in ("model.onnx", "model_tree.onnx")}
    params = model.num_params()
    print(json.dumps({"params": params, "fp32_bytes": params * 4, "onnx_bytes": sizes}))


if __name__ == "__main__":
    main()
