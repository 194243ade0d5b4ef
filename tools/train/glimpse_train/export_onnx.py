"""Exports the target model to ONNX (two graphs) and writes the Hugging Face config files.

The graphs are glimpse_convert's (tools/convert: model.Decoder traced by export.trace), fed the trained weights, and
without a num_logits_to_keep input. onnx/model.onnx, HF Optimum "decoder with past" layout (transformers.js
compatible), plus last_hidden_state:
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

from glimpse_convert import export as export_graph
from glimpse_convert.families import spec_from_config
from glimpse_convert.model import Decoder

from . import config
from .model import GlimpseLM
from .train_target import load_model


def onnx_decoder(model: GlimpseLM, cfg: config.Config) -> Decoder:
    """The trained weights in glimpse_convert's Decoder, built from the config.json this stage writes: the parameter
    names with a "model." prefix are the Hugging Face names it reads."""
    weights = {"model." + n: p.detach().numpy() for n, p in model.named_parameters()}
    return Decoder(spec_from_config(hf_config(cfg)), weights).eval()


def export(dec: Decoder, path: str, tree: bool) -> None:
    # no num_logits_to_keep input: the embedded model's interface (make_formats.py in runtime-cuda's tests adds one)
    export_graph.save(export_graph.trace(dec, tree, logits_to_keep=False), path)


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
    dec = onnx_decoder(model, cfg)
    export(dec, os.path.join(out, "onnx", "model.onnx"), tree=False)
    export(dec, os.path.join(out, "onnx", "model_tree.onnx"), tree=True)
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
