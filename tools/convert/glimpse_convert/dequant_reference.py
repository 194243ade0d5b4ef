"""A weight source that gives the torch reference the weights a quantized graph really computes with, so the
q4/int8 graphs can be checked tightly (`--dequant-parity`): quantization noise then drops out and what is left
is the rewrite itself (plus activation rounding when accuracy_level is 4)."""
from __future__ import annotations

import dataclasses

import numpy as np

from .families import Spec
from .quantize import EMBED_F16_MIN, dequantize, quantize_blocks


class DequantSource:
    def __init__(self, src, spec: Spec, bits: int):
        self.src, self.bits, self.tied = src, bits, spec.tied

    def get(self, name: str) -> np.ndarray:
        if name == "lm_head.weight" and self.tied:
            name_src = "model.embed_tokens.weight"  # the graph's LM head is its own quantized copy of the embedding
        else:
            name_src = name
        w = self.src.get(name_src)
        if name.endswith("_proj.weight") or name == "lm_head.weight":
            q, s, z = quantize_blocks(np.ascontiguousarray(w, np.float32), self.bits)
            return dequantize(q, s, z, w.shape[1])
        if name == "model.embed_tokens.weight" and w.size >= EMBED_F16_MIN:
            return w.astype(np.float16).astype(np.float32)
        return w


def dequant_spec(spec: Spec) -> Spec:
    return dataclasses.replace(spec, tied=False)  # embedding and LM head now differ
