"""Traces the Decoder into the two ONNX layouts and saves ModelProtos, with external data when large.

model{S}.onnx       HF Optimum / transformers.js "decoder with past" layout (+ last_hidden_state, num_logits_to_keep)
model_tree{S}.onnx  Glimpse's layout: additive float32 mask [b,1,s,past+s], outputs present_append.{i}.key|value
Constant folding is off so a tied LM head stays Transpose(embed) and the embedding is stored once.
"""
from __future__ import annotations

import os
import tempfile

import onnx
import torch
from onnx import numpy_helper

from .model import Decoder, MaskBuilder

OPSET = 17
EXTERNAL_BYTES = 1_500_000_000  # over this, weights go to model{S}.onnx_data (protobuf stops at 2 GiB)


class _Wrapper(torch.nn.Module):
    def __init__(self, m: Decoder, append_only: bool, logits_to_keep: bool):
        super().__init__()
        self.m = m
        self.append_only = append_only
        self.logits_to_keep = logits_to_keep

    def forward(self, input_ids, attention_mask, position_ids, *rest):
        num_logits_to_keep, past_flat = (rest[0], rest[1:]) if self.logits_to_keep else (None, rest)
        past = [(past_flat[2 * i], past_flat[2 * i + 1]) for i in range(len(past_flat) // 2)]
        logits, h, presents = self.m(input_ids, attention_mask, position_ids, past, num_logits_to_keep, self.append_only)
        out = [logits, h]
        for k, v in presents:
            out += [k, v]
        return tuple(out)


def io_names(layers: int, tree: bool, logits_to_keep: bool = True) -> tuple[list[str], list[str]]:
    past = [f"past_key_values.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]
    out = "present_append" if tree else "present"
    present = [f"{out}.{i}.{kv}" for i in range(layers) for kv in ("key", "value")]
    inputs = ["input_ids", "attention_mask", "position_ids"] + (["num_logits_to_keep"] if logits_to_keep else [])
    return inputs + past, ["logits", "last_hidden_state"] + present


def trace(model: Decoder, tree: bool, logits_to_keep: bool = True) -> onnx.ModelProto:
    """The fp32 graph as a ModelProto (weights loaded in memory). logits_to_keep=False: no num_logits_to_keep input
    (the embedded model's interface, which tools/train keeps)."""
    sp = model.spec
    b, s, past = 1, 3, 5  # parity runs other shapes
    ids = torch.randint(0, sp.vocab_size, (b, s))
    pos = torch.arange(past, past + s).unsqueeze(0)
    mask2d = torch.ones(b, past + s, dtype=torch.int64)
    mask = MaskBuilder()(mask2d, ids) if tree else mask2d
    keep = [torch.tensor(0, dtype=torch.int64)] if logits_to_keep else []
    pkv = [torch.randn(b, sp.kv_heads, past, sp.head_dim) for _ in range(2 * sp.layers)]
    inputs, outputs = io_names(sp.layers, tree, logits_to_keep)
    n_axis = "num_logits" if logits_to_keep else "sequence_length"
    axes = {"input_ids": {0: "batch_size", 1: "sequence_length"},
            "position_ids": {0: "batch_size", 1: "sequence_length"},
            "attention_mask": ({0: "batch_size", 2: "sequence_length", 3: "total_sequence_length"} if tree
                               else {0: "batch_size", 1: "total_sequence_length"}),
            "logits": {0: "batch_size", 1: n_axis},
            "last_hidden_state": {0: "batch_size", 1: n_axis}}
    for name in (n for n in inputs if n.startswith("past_key_values.")):
        axes[name] = {0: "batch_size", 2: "past_sequence_length"}
    for name in outputs[2:]:
        axes[name] = {0: "batch_size", 2: "sequence_length" if tree else "total_sequence_length"}
    wrapper = _Wrapper(model, tree, logits_to_keep)
    with tempfile.TemporaryDirectory(dir=os.environ.get("GLIMPSE_CONVERT_TMP")) as tmp:
        path = os.path.join(tmp, "model.onnx")
        # export_params=False: torch writes the weights as graph inputs named like the parameters and we attach
        # them below; serializing them through torch and parsing them back took most of the export time
        with torch.no_grad():
            torch.onnx.export(wrapper, (ids, mask, pos, *keep, *pkv), path, input_names=inputs, output_names=outputs,
                              dynamic_axes=axes, opset_version=OPSET, do_constant_folding=False, export_params=False)
        m = onnx.load(path)
    weights = dict(wrapper.named_parameters())
    weights.update(wrapper.named_buffers())
    g = m.graph
    as_inputs = [v for v in g.input if v.name in weights]
    for v in as_inputs:
        g.input.remove(v)
        g.initializer.append(numpy_helper.from_array(weights[v.name].detach().numpy(), v.name))
    extra = [v.name for v in g.input if v.name not in inputs]
    if extra:
        raise RuntimeError(f"export: unexpected graph inputs {extra[:5]}")
    return m


def weight_bytes(m: onnx.ModelProto) -> int:
    return sum(len(t.raw_data) for t in m.graph.initializer)


def save(m: onnx.ModelProto, path: str) -> list[str]:
    """Writes path (and path + '_data' when the weights are large); returns the files written."""
    data = path + "_data"
    for p in (path, data):
        if os.path.exists(p):
            os.remove(p)  # onnx appends to an existing data file
    if weight_bytes(m) > EXTERNAL_BYTES:
        onnx.save_model(m, path, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=os.path.basename(data), size_threshold=1024)
        return [path, data]
    onnx.save_model(m, path)
    return [path]
