"""Where the weights come from: a Hugging Face checkpoint (safetensors) or a Glimpse / transformers.js ONNX folder.

Both give tensors by their Hugging Face state-dict name as float32 arrays ([out, in] for linear weights).
ONNX folders: the fp32 graph onnx/model.onnx is read with python3-onnx; its initializers are mapped back to
state-dict names. Two exporters write them:
- tools/train (the embedded model): "m." + the name without "model." ("m.layers.0.self_attn.q_proj.weight",
  "m.embed_tokens.weight"), weights [out, in], the LM head tied;
- tools/convert (model.py's Decoder): "m.embed", "m.layers.N.<...>.weight_t" ([in, out], transposed here),
  biases and norms by their names, "m.lm_head_t" for an untied head, or "lm_head.slice0", "lm_head.slice1", ...
  ([in, out] slices of the vocabulary, head_slices.py) for a large head, tied or not.
Names already in state-dict form ("model.layers...", "lm_head.weight") are taken as they are.
"""
from __future__ import annotations

import os

import numpy as np

from ..safetensors_io import SafeTensors


class OnnxWeights:
    def __init__(self, folder: str):
        path = os.path.join(folder, "onnx", "model.onnx")
        if not os.path.exists(path):
            raise FileNotFoundError(f"{folder}: no model.safetensors and no fp32 onnx/model.onnx to read weights from")
        try:
            import onnx
            from onnx import numpy_helper
        except ImportError as e:  # python3-onnx (Debian) reads the graph
            raise FileNotFoundError(f"{path}: reading ONNX weights needs python3-onnx ({e})") from e
        model = onnx.load(path, load_external_data=True)
        self._w: dict[str, np.ndarray] = {}
        slices: dict[int, np.ndarray] = {}  # a large LM head in vocabulary slices ([in, out] each; head_slices.py)
        for init in model.graph.initializer:
            if init.name.startswith("lm_head.slice"):
                slices[int(init.name[len("lm_head.slice"):])] = numpy_helper.to_array(init)
                continue
            name = state_dict_name(init.name)
            if name is None:
                continue
            a = numpy_helper.to_array(init)
            if a.dtype != np.float32:
                raise ValueError(f"{path}: initializer {init.name} is {a.dtype}, not float32 (use the fp32 graph)")
            self._w[name] = a.T.copy() if init.name.endswith("_t") else a
        if slices and "lm_head.weight" not in self._w:
            self._w["lm_head.weight"] = np.concatenate([slices[j] for j in sorted(slices)], axis=1).T.copy()
        del model

    def keys(self) -> list[str]:
        return list(self._w)

    def __contains__(self, name: str) -> bool:
        return name in self._w

    def get(self, name: str) -> np.ndarray:
        if name not in self._w:
            raise KeyError(f"{name} (not among the ONNX graph's initializers; only graphs exported by tools/train or "
                           "tools/convert keep the weights' names)")
        return self._w[name]


def state_dict_name(onnx_name: str) -> str | None:
    """The state-dict name of an ONNX initializer, or None for one that is not a weight (constants, buffers)."""
    if onnx_name == "m.embed":
        return "model.embed_tokens.weight"
    if onnx_name == "m.lm_head_t":
        return "lm_head.weight"
    if onnx_name.startswith("m."):
        name = "model." + onnx_name[2:]
    elif onnx_name.startswith(("model.", "lm_head.")):
        name = onnx_name
    else:
        return None
    if name.endswith(".weight_t"):
        name = name[: -len("_t")]
    return name if name.endswith((".weight", ".bias")) else None


def open_weights(folder: str):
    """SafeTensors when the folder has safetensors, else the ONNX graph's initializers."""
    if any(os.path.exists(os.path.join(folder, n)) for n in ("model.safetensors", "model.safetensors.index.json")):
        return SafeTensors(folder), "safetensors"
    return OnnxWeights(folder), "onnx"
